package qemu

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"time"
)

// qmpRequest is one QMP command; Arguments is left out when nil.
type qmpRequest struct {
	Execute   string `json:"execute"`
	Arguments any    `json:"arguments,omitempty"`
}

// qmpCommand connects to the QMP socket at path, negotiates capabilities
// and runs one command without arguments ("quit", "system_powerdown").
func qmpCommand(ctx context.Context, path, cmd string) error {
	_, err := qmpExecute(ctx, path, qmpRequest{Execute: cmd})
	return err
}

// qmpExecute connects to the QMP socket at path, negotiates capabilities,
// runs req and returns its "return" value.
func qmpExecute(ctx context.Context, path string, req qmpRequest) (json.RawMessage, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("qmp: %w", err)
	}
	defer c.Close()
	deadline := time.Now().Add(5 * time.Second)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	c.SetDeadline(deadline)
	r := bufio.NewReader(c)
	if _, err := qmpRead(r); err != nil { // greeting
		return nil, fmt.Errorf("qmp greeting: %w", err)
	}
	var ret json.RawMessage
	for _, q := range []qmpRequest{{Execute: "qmp_capabilities"}, req} {
		if err := json.NewEncoder(c).Encode(q); err != nil {
			return nil, fmt.Errorf("qmp %s: %w", q.Execute, err)
		}
		if ret, err = qmpReturn(r, q.Execute); err != nil {
			return nil, err
		}
	}
	return ret, nil
}

// qmpMessage is a QMP reply, greeting or event.
type qmpMessage struct {
	Return json.RawMessage `json:"return"`
	Error  *struct {
		Class string `json:"class"`
		Desc  string `json:"desc"`
	} `json:"error"`
	Event string `json:"event"`
}

// qmpReturn reads until the reply to ex, skipping events, and returns
// its "return" value.
func qmpReturn(r *bufio.Reader, ex string) (json.RawMessage, error) {
	for {
		m, err := qmpRead(r)
		if err != nil {
			return nil, fmt.Errorf("qmp %s: %w", ex, err)
		}
		switch {
		case m.Error != nil:
			return nil, fmt.Errorf("qmp %s: %s: %s", ex, m.Error.Class, m.Error.Desc)
		case m.Return != nil:
			return m.Return, nil
		}
	}
}

func qmpRead(r *bufio.Reader) (qmpMessage, error) {
	var m qmpMessage
	line, err := r.ReadBytes('\n')
	if err != nil {
		return m, err
	}
	return m, json.Unmarshal(line, &m)
}
