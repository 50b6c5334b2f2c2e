//go:build linux

package agent_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/moby/moby/api/pkg/stdcopy"

	"github.com/berth-dev/berth/guest/internal/testenv"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// shellResult is what one Shell call produced.
type shellResult struct {
	stdout, stderr string
	code           int64
	err            error
}

// runShell calls System.Shell with req on a fresh data stream; talk (may
// be nil) runs beside the call with the stream (for stdin and resizes).
// Without a TTY the output is demultiplexed.
func runShell(t *testing.T, c *client, req *agentv1.ShellRequest, talk func(conn net.Conn, id string)) shellResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id, conn := c.openData(t, ctx)
	defer conn.Close()
	req.StreamId = id
	type resp struct {
		r   *agentv1.ShellResponse
		err error
	}
	done := make(chan resp, 1)
	go func() {
		r, err := c.sysCl.Shell(ctx, req)
		done <- resp{r, err}
	}()
	if talk != nil {
		go talk(conn, id)
	} else if !req.Tty {
		conn.(interface{ CloseWrite() error }).CloseWrite()
	}
	var out, errOut bytes.Buffer
	outDone := make(chan error, 1)
	go func() {
		var err error
		if req.Tty {
			_, err = io.Copy(&out, conn)
		} else {
			_, err = stdcopy.StdCopy(&out, &errOut, conn)
		}
		outDone <- err
	}()
	r := <-done
	if r.err != nil {
		conn.Close()
		<-outDone
		return shellResult{err: errgrpc.ToNative(r.err)}
	}
	if err := <-outDone; err != nil {
		t.Fatalf("reading the shell's output: %v", err)
	}
	return shellResult{stdout: out.String(), stderr: errOut.String(), code: r.r.ExitCode}
}

func TestShell(t *testing.T) {
	testenv.RequiresRoot(t)
	c := startInProcess(t)
	tests := []struct {
		name       string
		req        *agentv1.ShellRequest
		stdin      string
		wantOut    string // exact without a TTY, contained with one
		wantErrOut string
		wantCode   int64
	}{
		{name: "echo", req: &agentv1.ShellRequest{Args: []string{"echo", "hello"}}, wantOut: "hello\n"},
		{name: "stderr and exit code", req: &agentv1.ShellRequest{Args: []string{"sh", "-c", "echo out; echo err >&2; exit 3"}},
			wantOut: "out\n", wantErrOut: "err\n", wantCode: 3},
		{name: "stdin until EOF", req: &agentv1.ShellRequest{Args: []string{"cat"}}, stdin: "line one\nline two\n",
			wantOut: "line one\nline two\n"},
		{name: "env and working dir", req: &agentv1.ShellRequest{Args: []string{"sh", "-c", `echo "$FOO $HOME $(pwd)"`},
			Env: []string{"FOO=bar"}, WorkingDir: "/tmp"}, wantOut: "bar /root /tmp\n"},
		{name: "killed by a signal", req: &agentv1.ShellRequest{Args: []string{"sh", "-c", "kill -9 $$"}}, wantCode: 137},
		{name: "tty echo", req: &agentv1.ShellRequest{Args: []string{"sh", "-c", "test -t 0 && echo tty-ok; exit 5"}, Tty: true},
			wantOut: "tty-ok", wantCode: 5},
		{name: "tty size", req: &agentv1.ShellRequest{Args: []string{"stty", "size"}, Tty: true, Height: 33, Width: 101},
			wantOut: "33 101"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var talk func(net.Conn, string)
			if tt.stdin != "" {
				talk = func(conn net.Conn, _ string) {
					io.WriteString(conn, tt.stdin)
					conn.(interface{ CloseWrite() error }).CloseWrite()
				}
			}
			r := runShell(t, c, tt.req, talk)
			if r.err != nil {
				t.Fatalf("Shell: %v", r.err)
			}
			if r.code != tt.wantCode {
				t.Errorf("exit code = %d, want %d (stdout %q)", r.code, tt.wantCode, r.stdout)
			}
			if tt.req.Tty {
				if !strings.Contains(r.stdout, tt.wantOut) {
					t.Errorf("output = %q, want it to contain %q", r.stdout, tt.wantOut)
				}
				return
			}
			if r.stdout != tt.wantOut || r.stderr != tt.wantErrOut {
				t.Errorf("stdout, stderr = %q, %q; want %q, %q", r.stdout, r.stderr, tt.wantOut, tt.wantErrOut)
			}
		})
	}
}

func TestShellResize(t *testing.T) {
	testenv.RequiresRoot(t)
	c := startInProcess(t)
	ctx := context.Background()
	req := &agentv1.ShellRequest{Args: []string{"sh", "-c", "read x; stty size"}, Tty: true, Height: 10, Width: 20}
	r := runShell(t, c, req, func(conn net.Conn, id string) {
		// The shell is running once its stream is claimed; retry until the
		// resize finds it, then let it read its line.
		for i := 0; i < 200; i++ {
			_, err := c.sysCl.ResizeShell(ctx, &agentv1.ResizeShellRequest{StreamId: id, Height: 40, Width: 120})
			if err == nil {
				break
			}
			if !errdefs.IsNotFound(errgrpc.ToNative(err)) {
				t.Errorf("ResizeShell: %v", err)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		io.WriteString(conn, "go\r")
	})
	if r.err != nil {
		t.Fatalf("Shell: %v", r.err)
	}
	if !strings.Contains(r.stdout, "40 120") {
		t.Errorf("output = %q, want the new size 40 120", r.stdout)
	}
	if _, err := c.sysCl.ResizeShell(ctx, &agentv1.ResizeShellRequest{StreamId: "nope", Height: 1, Width: 1}); !errdefs.IsNotFound(errgrpc.ToNative(err)) {
		t.Errorf("ResizeShell of an unknown stream: err = %v, want not found", err)
	}
}

func TestShellBadRequests(t *testing.T) {
	testenv.RequiresRoot(t)
	c := startInProcess(t)
	tests := []struct {
		name  string
		req   *agentv1.ShellRequest
		check func(error) bool
	}{
		{"unknown command", &agentv1.ShellRequest{Args: []string{"no-such-command-berth"}}, errdefs.IsNotFound},
		{"relative working dir", &agentv1.ShellRequest{Args: []string{"true"}, WorkingDir: "tmp"}, errdefs.IsInvalidArgument},
		{"missing working dir", &agentv1.ShellRequest{Args: []string{"true"}, WorkingDir: "/no/such/dir"}, errdefs.IsInvalidArgument},
		{"bad env", &agentv1.ShellRequest{Args: []string{"true"}, Env: []string{"NOEQUALS"}}, errdefs.IsInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runShell(t, c, tt.req, nil)
			if r.err == nil || !tt.check(r.err) {
				t.Errorf("Shell: err = %v, want the other kind", r.err)
			}
		})
	}
	if _, err := c.sysCl.Shell(context.Background(), &agentv1.ShellRequest{Args: []string{"true"}}); !errdefs.IsInvalidArgument(errgrpc.ToNative(err)) {
		t.Errorf("Shell without a stream: err = %v, want invalid argument", err)
	}
}
