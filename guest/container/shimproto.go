package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"time"

	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The shim protocol: one unix connection per request. The client writes a
// JSON shimRequest line; the shim answers with a JSON shimResponse line.
// For "attach" the connection then carries the raw stream.
const (
	opState      = "state"
	opStart      = "start"
	opWait       = "wait"
	opKill       = "kill"
	opPause      = "pause"
	opResume     = "resume"
	opAttach     = "attach"
	opResize     = "resize"
	opExecCreate = "exec-create"
	opExecStart  = "exec-start"
	opExecWait   = "exec-wait"
	opShutdown   = "shutdown"
)

type shimRequest struct {
	Op      string         `json:"op"`
	Stream  string         `json:"stream,omitempty"` // attach: stdin, stdout or stderr
	ExecID  string         `json:"exec_id,omitempty"`
	Process *specs.Process `json:"process,omitempty"`
	Stdin   bool           `json:"stdin,omitempty"` // exec-create: open a stdin pipe
	Signal  int            `json:"signal,omitempty"`
	Width   uint16         `json:"width,omitempty"`
	Height  uint16         `json:"height,omitempty"`
	// Discard (shutdown) says the state dir is about to be deleted: the
	// shim answers once the container is gone and crun's state deleted,
	// without waiting for its exit record to be stored. Older shims ignore
	// it and wait for the record too.
	Discard bool `json:"discard,omitempty"`
}

type shimResponse struct {
	Error  string      `json:"error,omitempty"`
	Kind   string      `json:"kind,omitempty"` // errdefs kind of Error
	Pid    int         `json:"pid,omitempty"`
	Status Status      `json:"status,omitempty"`
	Exit   *ExitStatus `json:"exit,omitempty"`
	// ExecFailure is StartError's exit code (126, 127) when the command
	// could not be executed.
	ExecFailure int `json:"exec_failure,omitempty"`
}

// ExitStatus is how a container (or exec) process ended.
type ExitStatus struct {
	ExitCode   int       `json:"exit_code"`
	FinishedAt time.Time `json:"finished_at"`
	OOMKilled  bool      `json:"oom_killed,omitempty"`
}

// shimSocket is the shim's control socket in a container's state dir.
func shimSocket(dir string) string { return filepath.Join(dir, "shim.sock") }

// errShimGone says the shim is not running (the container has exited).
var errShimGone = errors.New("container process is not running")

// shimCall sends req to the shim in dir and decodes its answer. The
// returned connection is open only for attach (nil otherwise).
func shimCall(ctx context.Context, dir string, req shimRequest) (shimResponse, net.Conn, error) {
	var d net.Dialer
	var conn net.Conn
	err := withSocketPath(shimSocket(dir), func(p string) (err error) {
		conn, err = d.DialContext(ctx, "unix", p)
		return err
	})
	if err != nil {
		return shimResponse{}, nil, fmt.Errorf("%w: %w", errShimGone, errdefs.ErrNotFound)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	b, _ := json.Marshal(req)
	if _, err := conn.Write(append(b, '\n')); err != nil {
		conn.Close()
		return shimResponse{}, nil, fmt.Errorf("shim %s: %w", req.Op, err)
	}
	var resp shimResponse
	line, err := readLine(conn)
	if err == nil {
		err = json.Unmarshal(line, &resp)
	}
	if err != nil {
		conn.Close()
		if ctx.Err() != nil {
			return shimResponse{}, nil, ctx.Err()
		}
		return shimResponse{}, nil, fmt.Errorf("shim %s: %w: %w", req.Op, errShimGone, errdefs.ErrNotFound)
	}
	if resp.ExecFailure != 0 {
		conn.Close()
		return resp, nil, &StartError{ExitCode: resp.ExecFailure, Msg: resp.Error}
	}
	if resp.Error != "" {
		conn.Close()
		return resp, nil, kindError(resp.Kind, resp.Error)
	}
	if req.Op != opAttach {
		conn.Close()
		return resp, nil, nil
	}
	return resp, conn, nil
}

// maxLine bounds a request or response line of the shim protocol.
const maxLine = 1 << 20

var errLineTooLong = errors.New("shim: request line too long")

// readLineBytewise reads one '\n'-terminated line byte by byte so that
// nothing after it (the raw stream) is consumed.
func readLineBytewise(c net.Conn) ([]byte, error) {
	var out []byte
	b := make([]byte, 1)
	for len(out) < maxLine {
		if _, err := c.Read(b); err != nil {
			return nil, err
		}
		if b[0] == '\n' {
			return out, nil
		}
		out = append(out, b[0])
	}
	return nil, errLineTooLong
}

// readRequest reads a request from a connection accepted by the shim.
func readRequest(c net.Conn) (shimRequest, error) {
	var req shimRequest
	line, err := readLine(c)
	if err != nil {
		return req, err
	}
	return req, json.Unmarshal(line, &req)
}

func errKind(err error) string {
	switch {
	case errdefs.IsNotFound(err):
		return "not_found"
	case errdefs.IsConflict(err):
		return "conflict"
	case errdefs.IsFailedPrecondition(err):
		return "failed_precondition"
	case errdefs.IsInvalidArgument(err):
		return "invalid_argument"
	}
	return ""
}

func kindError(kind, msg string) error {
	switch kind {
	case "not_found":
		return fmt.Errorf("%s: %w", msg, errdefs.ErrNotFound)
	case "conflict":
		return fmt.Errorf("%s: %w", msg, errdefs.ErrConflict)
	case "failed_precondition":
		return fmt.Errorf("%s: %w", msg, errdefs.ErrFailedPrecondition)
	case "invalid_argument":
		return fmt.Errorf("%s: %w", msg, errdefs.ErrInvalidArgument)
	}
	return errors.New(msg)
}
