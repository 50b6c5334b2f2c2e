package client

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/containerd/log"
	"github.com/moby/moby/api/pkg/stdcopy"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// stdioSession is one attached session (attach, run, start -a, exec):
// what to copy between the local streams and a container's data stream.
type stdioSession struct {
	tty        bool
	stdin      io.Reader // nil: stdin not attached
	stdout     io.Writer // nil: stdout not attached
	stderr     io.Writer // nil: stderr not attached
	detachKeys []byte    // tty sessions with stdin: the detach sequence
}

// copy runs the session on conn until the container's output ends, the
// user detaches (errDetached) or ctx ends. Non-TTY output is demultiplexed
// from docker's stdcopy frames. When stdin ends the write side of conn is
// closed so that the container sees EOF on its stdin.
func (s *stdioSession) copy(ctx context.Context, conn net.Conn) error {
	outDone := make(chan error, 1)
	inDone := make(chan error, 1)
	go func() { outDone <- s.copyOut(conn) }()
	if s.stdin != nil {
		go func() { inDone <- s.copyIn(conn) }()
	}
	for {
		select {
		case err := <-outDone:
			return err
		case err := <-inDone:
			if errors.Is(err, errDetached) {
				conn.Close() // and let the output copy end before returning
				<-outDone
				return errDetached
			}
			if err != nil {
				log.G(ctx).WithError(err).Debug("copying stdin")
			}
			inDone = nil // keep waiting for the output to end
		case <-ctx.Done():
			conn.Close()
			<-outDone
			return ctx.Err()
		}
	}
}

func (s *stdioSession) copyOut(conn net.Conn) error {
	stdout, stderr := s.stdout, s.stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	var err error
	if s.tty {
		_, err = io.Copy(stdout, conn)
	} else {
		_, err = stdcopy.StdCopy(stdout, stderr, conn)
	}
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

func (s *stdioSession) copyIn(conn net.Conn) error {
	in := s.stdin
	if s.tty && len(s.detachKeys) > 0 {
		in = newDetachReader(in, s.detachKeys)
	}
	_, err := io.Copy(conn, in)
	if errors.Is(err, errDetached) {
		return err
	}
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		if cerr := cw.CloseWrite(); cerr != nil && err == nil {
			err = cerr
		}
	}
	return err
}

// proxySignals forwards SIGINT and SIGTERM to the container (docker's
// --sig-proxy) until the returned stop function is called.
func (c *cli) proxySignals(ctx context.Context, a *agentConn, id string) (stop func()) {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case sig := <-ch:
				name := "SIGTERM"
				if sig == os.Interrupt {
					name = "SIGINT"
				}
				if _, err := a.Containers.Kill(ctx, &agentv1.KillContainerRequest{Id: id, Signal: name}); err != nil {
					log.G(ctx).WithError(err).Debugf("forwarding %s", name)
				}
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
	}
}

// resizer keeps the container's (or exec's) TTY at the local terminal's
// size until ctx ends.
func (c *cli) resizer(ctx context.Context, a *agentConn, id, execID string) {
	if _, ok := terminalFd(c.out); !ok {
		return
	}
	watchResize(ctx, func() {
		h, w := terminalSize(c.out)
		if h == 0 || w == 0 {
			return
		}
		_, err := a.Containers.Resize(ctx, &agentv1.ResizeRequest{Id: id, ExecId: execID, Height: h, Width: w})
		if err != nil {
			log.G(ctx).WithError(err).Debug("resizing the tty")
		}
	})
}
