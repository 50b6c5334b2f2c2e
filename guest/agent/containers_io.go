//go:build linux

package agent

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/moby/moby/api/pkg/stdcopy"

	"github.com/berth-dev/berth/guest/container"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// pendingAttach is a client attached to a container that has not started
// yet; Start wires it before the process runs.
type pendingAttach struct {
	conn net.Conn
	opts container.AttachOptions
}

func (a *pendingAttach) fail() { a.conn.Close() }

func (e *engine) addPending(id string, a *pendingAttach) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pending[id] = append(e.pending[id], a)
}

func (e *engine) takePending(id string) []*pendingAttach {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.pending[id]
	delete(e.pending, id)
	return p
}

func unionAttach(as []*pendingAttach) *container.AttachOptions {
	var o container.AttachOptions
	for _, a := range as {
		o.Stdin = o.Stdin || a.opts.Stdin
		o.Stdout = o.Stdout || a.opts.Stdout
		o.Stderr = o.Stderr || a.opts.Stderr
	}
	return &o
}

// serveAttaches splices the streams Start returned to the waiting clients.
// With several clients only the first gets them (docker run has one).
func (e *engine) serveAttaches(r *record, as []*pendingAttach, s *container.Streams) {
	if len(as) == 0 || s == nil {
		return
	}
	for _, a := range as[1:] {
		a.fail()
	}
	e.goOwned(func(ctx context.Context) { splice(ctx, as[0].conn, s, r.Config.Tty) })
}

// attach implements Containers.Attach on conn.
func (e *engine) attach(ctx context.Context, r *record, conn net.Conn, req *agentv1.AttachContainerRequest) error {
	c, err := e.runtimeContainer(r)
	if err != nil {
		return err
	}
	opts := container.AttachOptions{Stdin: req.Stdin && r.Config.OpenStdin, Stdout: req.Stdout, Stderr: req.Stderr}
	if req.Logs {
		w := newFrameWriter(conn, r.Config.Tty)
		_ = c.Logs(ctx, container.LogsOptions{Tail: -1}, func(le container.LogEntry) error {
			if (le.Stream == "stderr" && !req.Stderr) || (le.Stream != "stderr" && !req.Stdout) {
				return nil
			}
			return w.write(le.Stream, []byte(le.Log))
		})
	}
	st := c.State(ctx).Status
	if st == container.StatusCreated || st == container.StatusExited {
		if st == container.StatusExited && !req.Stdin && !r.Config.OpenStdin && req.Logs {
			conn.Close()
			return nil
		}
		e.addPending(r.ID, &pendingAttach{conn: conn, opts: opts})
		return nil
	}
	s, err := c.Attach(ctx, opts)
	if err != nil {
		return err
	}
	e.goOwned(func(ctx context.Context) { splice(ctx, conn, s, r.Config.Tty) })
	return nil
}

// splice copies the process's output to conn (stdcopy-framed without a
// tty) and conn to its stdin, closing conn when the output ends.
func splice(ctx context.Context, conn net.Conn, s *container.Streams, tty bool) {
	defer conn.Close()
	defer s.Close()
	w := newFrameWriter(conn, tty)
	var wg sync.WaitGroup
	pump := func(r io.Reader, stream string) {
		defer wg.Done()
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				if werr := w.write(stream, buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
	if s.Stdout != nil {
		wg.Add(1)
		go pump(s.Stdout, "stdout")
	}
	if s.Stderr != nil {
		wg.Add(1)
		go pump(s.Stderr, "stderr")
	}
	if s.Stdin != nil {
		go func() {
			_, _ = io.Copy(s.Stdin, conn)
			s.Stdin.Close()
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// frameWriter writes output to a client: raw with a tty, else in docker's
// stdcopy frames (stream byte, 3 zero bytes, big-endian uint32 length).
// It is safe for concurrent use.
type frameWriter struct {
	mu  sync.Mutex
	w   io.Writer
	tty bool
	buf []byte
}

func newFrameWriter(w io.Writer, tty bool) *frameWriter {
	return &frameWriter{w: w, tty: tty}
}

func (f *frameWriter) write(stream string, p []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tty {
		_, err := f.w.Write(p)
		return err
	}
	kind := byte(stdcopy.Stdout)
	if stream == "stderr" {
		kind = byte(stdcopy.Stderr)
	}
	f.buf = append(f.buf[:0], kind, 0, 0, 0, 0, 0, 0, 0)
	binary.BigEndian.PutUint32(f.buf[4:8], uint32(len(p)))
	f.buf = append(f.buf, p...)
	_, err := f.w.Write(f.buf)
	return err
}

// logs implements Containers.Logs: it writes the log to conn and closes it.
func (e *engine) logs(ctx context.Context, r *record, conn net.Conn, req *agentv1.LogsRequest) {
	defer conn.Close()
	c, err := e.runtimeContainer(r)
	if err != nil {
		return
	}
	opts := container.LogsOptions{Tail: -1, Follow: req.Follow}
	if n, err := strconv.Atoi(req.Tail); err == nil && n >= 0 {
		opts.Tail = n
	}
	if req.Since != nil {
		opts.Since = req.Since.AsTime()
	}
	if req.Until != nil {
		opts.Until = req.Until.AsTime()
	}
	// The client closing its end ends a follow.
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, conn)
		cancel()
	}()
	w := newFrameWriter(conn, r.Config.Tty)
	err = c.Logs(cctx, opts, func(le container.LogEntry) error {
		if (le.Stream == "stderr" && !req.Stderr) || (le.Stream != "stderr" && !req.Stdout) {
			return nil
		}
		line := le.Log
		if req.Timestamps {
			line = le.Time.UTC().Format(time.RFC3339Nano) + " " + line
		}
		return w.write(le.Stream, []byte(line))
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		log.G(ctx).WithError(err).Debug("logs")
	}
}

// validateLogsRequest checks a Logs request before the stream is used.
func validateLogsRequest(r *record, req *agentv1.LogsRequest) error {
	if req.Tail != "" && req.Tail != "all" {
		if _, err := strconv.Atoi(req.Tail); err != nil {
			return newKindError(errdefs.ErrInvalidArgument, "invalid value for \"tail\": %q: use a number or \"all\"", req.Tail)
		}
	}
	if !req.Stdout && !req.Stderr {
		return newKindError(errdefs.ErrInvalidArgument, "you must choose at least one stream")
	}
	return nil
}

func newExecID() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
