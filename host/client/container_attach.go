package client

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// attachSpec says how to attach to a container: which streams, with a TTY
// or not, and what to do once attached.
type attachSpec struct {
	tty                   bool
	stdin, stdout, stderr bool
	detachKeys            string
	sigProxy              bool
	// logs replays the container's log first (attach does not; start -a
	// and run do not either).
	logs bool
	// start is called once the stream is wired (run, start -a); nil for
	// plain attach.
	start func() error
	// stream is the data stream opened ahead (run); nil: open one.
	stream earlyStream
}

// attachSession attaches to container id and copies the streams until its
// output ends. It returns errDetached when the user typed the detach keys.
func (c *cli) attachSession(ctx context.Context, a *agentConn, id string, s attachSpec) error {
	keys, err := parseDetachKeys(s.detachKeys)
	if err != nil {
		s.stream.discard()
		return withExitCode(125, err)
	}
	if s.tty && s.stdin {
		if f, ok := c.in.(*os.File); ok {
			if _, isTerm := terminalFd(f); !isTerm {
				s.stream.discard()
				return errors.New("the input device is not a TTY")
			}
		}
	}
	conn, sid, err := s.stream.take(ctx, a)
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = a.Containers.Attach(ctx, &agentv1.AttachContainerRequest{
		Id: id, StreamId: sid, Stdin: s.stdin, Stdout: s.stdout, Stderr: s.stderr,
		Logs: s.logs, DetachKeys: s.detachKeys,
	})
	if err != nil {
		return fromAgent(err)
	}
	sess := &stdioSession{tty: s.tty, detachKeys: keys}
	if s.stdin {
		sess.stdin = c.in
	}
	if s.stdout {
		sess.stdout = c.out
	}
	if s.stderr {
		sess.stderr = c.errOut
		if s.tty {
			sess.stderr = c.out
		}
	}
	var raw *terminal
	if s.tty && s.stdin {
		if raw, err = makeRaw(c.in); err != nil {
			return fmt.Errorf("cannot put the terminal in raw mode: %w", err)
		}
	}
	defer raw.restore()
	if s.start != nil {
		if err := s.start(); err != nil {
			return err
		}
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if s.tty {
		c.resizer(sctx, a, id, "")
	} else if s.sigProxy {
		defer c.proxySignals(sctx, a, id)()
	}
	err = sess.copy(sctx, conn)
	raw.restore()
	return err
}

// waitExit waits for a container to stop and returns its exit code as the
// error to exit with (nil for 0).
func (c *cli) waitExit(ctx context.Context, a *agentConn, id string) error {
	return c.awaitExit(ctx, a, id, true)
}

// awaitExit is waitExit; syncPorts false skips the port-forward sync of a
// container that publishes no ports.
func (c *cli) awaitExit(ctx context.Context, a *agentConn, id string, syncPorts bool) error {
	r, err := a.Containers.Wait(ctx, &agentv1.WaitContainerRequest{Id: id, Condition: "not-running"})
	if err != nil {
		return withExitCode(125, fromAgent(err))
	}
	if syncPorts {
		c.syncForwards(ctx, a, id) // its ports are free when run returns
	}
	if r.Error != "" {
		return withExitCode(125, errors.New(r.Error))
	}
	if r.StatusCode != 0 {
		return withExitCode(int(r.StatusCode), nil)
	}
	return nil
}

// startError is the exit status docker gives a container that could not
// start: 127 when the command was not found, 126 when it cannot be run,
// 125 otherwise. The agent's message is the only place this shows, so it
// is matched the way docker's CLI matches it.
func startError(err error) error {
	err = fromAgent(err)
	msg := err.Error()
	switch {
	case strings.Contains(msg, "executable file not found"),
		strings.Contains(msg, "no such file or directory"),
		strings.Contains(msg, "system cannot find the file specified"):
		return withExitCode(127, err)
	case strings.Contains(msg, "permission denied"),
		strings.Contains(msg, "is a directory"), // crun's word for runc's permission denied
		strings.Contains(msg, "cannot execute binary file"):
		return withExitCode(126, err)
	}
	return withExitCode(125, err)
}
