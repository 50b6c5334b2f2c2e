package qemu

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"time"
)

// qmpCommand connects to the QMP socket at path, negotiates capabilities
// and runs one command without arguments ("quit", "system_powerdown").
func qmpCommand(ctx context.Context, path, cmd string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return fmt.Errorf("qmp: %w", err)
	}
	defer c.Close()
	deadline := time.Now().Add(5 * time.Second)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	c.SetDeadline(deadline)
	r := bufio.NewReader(c)
	if _, err := qmpRead(r); err != nil { // greeting
		return err
	}
	for _, ex := range []string{"qmp_capabilities", cmd} {
		if err := json.NewEncoder(c).Encode(map[string]string{"execute": ex}); err != nil {
			return fmt.Errorf("qmp %s: %w", ex, err)
		}
		if err := qmpReturn(r, ex); err != nil {
			return err
		}
	}
	return nil
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

// qmpReturn reads until the reply to ex, skipping events.
func qmpReturn(r *bufio.Reader, ex string) error {
	for {
		m, err := qmpRead(r)
		if err != nil {
			return fmt.Errorf("qmp %s: %w", ex, err)
		}
		switch {
		case m.Error != nil:
			return fmt.Errorf("qmp %s: %s: %s", ex, m.Error.Class, m.Error.Desc)
		case m.Return != nil:
			return nil
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
