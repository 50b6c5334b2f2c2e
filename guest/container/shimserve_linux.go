package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/console"
	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

// serve answers requests until the container has exited and been cleaned up.
func (s *shim) serve() {
	go func() {
		<-s.cleaned
		os.Remove(shimSocket(s.dir))
		s.ln.Close()
	}()
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			break
		}
		s.reqs.Add(1)
		go func() {
			defer s.reqs.Done()
			s.handle(c)
		}()
	}
	waitTimeout(&s.reqs, time.Second)
}

func reply(c net.Conn, resp shimResponse, err error) {
	if err != nil {
		resp = shimResponse{Error: err.Error(), Kind: errKind(err)}
		var se *StartError
		if errors.As(err, &se) {
			resp.ExecFailure, resp.Error = se.ExitCode, se.Msg
		}
	}
	b, _ := json.Marshal(resp)
	c.Write(append(b, '\n')) //nolint:errcheck // the client may be gone
}

func (s *shim) handle(c *net.UnixConn) {
	req, err := readRequest(c)
	if err != nil {
		c.Close()
		return
	}
	if req.Op == opAttach {
		s.attach(c, req) // takes ownership of c
		return
	}
	defer c.Close()
	ctx := context.Background()
	var resp shimResponse
	switch req.Op {
	case opState:
		resp.Pid, resp.Status = s.pid, s.status()
	case opStart:
		resp.Pid, err = s.start()
	case opWait:
		<-s.exited
		resp.Exit = s.exit
	case opShutdown:
		s.shutdown(req.Discard)
	case opKill:
		err = s.kill(ctx, syscall.Signal(req.Signal))
	case opPause, opResume:
		err = s.pause(ctx, req.Op == opPause)
	case opResize:
		err = s.resize(req)
	case opExecCreate:
		err = s.execCreate(req)
	case opExecStart:
		resp.Pid, err = s.execStart(ctx, req.ExecID)
	case opExecWait:
		resp.Exit, err = s.execWait(req.ExecID)
	default:
		err = fmt.Errorf("unknown shim request %q: %w", req.Op, errdefs.ErrInvalidArgument)
	}
	reply(c, resp, err)
}

func (s *shim) status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case !s.started || (s.pid == 0 && !s.reaped): // not (yet) running
		return StatusCreated
	case s.reaped:
		return StatusExited
	case s.paused:
		return StatusPaused
	}
	return StatusRunning
}

// checkRunning returns a conflict unless the container runs; s.mu held.
func (s *shim) checkRunning() error {
	if !s.started || s.reaped || s.pid == 0 {
		return fmt.Errorf("container %s is not running: %w", s.cfg.ID, errdefs.ErrConflict)
	}
	return nil
}

func (s *shim) kill(ctx context.Context, sig syscall.Signal) error {
	s.mu.Lock()
	starting := s.started
	s.mu.Unlock()
	if starting {
		<-s.running // a kill racing with the start applies to the started process
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkRunning(); err != nil {
		return err
	}
	var err error
	if s.pidfd >= 0 {
		err = unix.PidfdSendSignal(s.pidfd, sig, nil, 0)
	} else {
		err = unix.Kill(s.pid, sig)
	}
	if err != nil {
		return fmt.Errorf("signal %d to container %s: %w", sig, s.cfg.ID, err)
	}
	if sig == unix.SIGKILL && s.paused {
		// A frozen process cannot die: thaw it, like docker does.
		if err := s.rc.Resume(ctx, s.cfg.ID); err == nil {
			s.paused = false
		}
	}
	return nil
}

func (s *shim) pause(ctx context.Context, pause bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkRunning(); err != nil {
		return err
	}
	if s.paused == pause {
		if pause {
			return fmt.Errorf("container %s is already paused: %w", s.cfg.ID, errdefs.ErrConflict)
		}
		return fmt.Errorf("container %s is not paused: %w", s.cfg.ID, errdefs.ErrConflict)
	}
	var err error
	if pause {
		err = s.rc.Pause(ctx, s.cfg.ID)
	} else {
		err = s.rc.Resume(ctx, s.cfg.ID)
	}
	if err != nil {
		return crunError(s.rc.Log, map[bool]string{true: "pause", false: "resume"}[pause], "", err)
	}
	s.paused = pause
	return nil
}

func (s *shim) resize(req shimRequest) error {
	con := s.con
	if req.ExecID != "" {
		e, err := s.getExec(req.ExecID)
		if err != nil {
			return err
		}
		<-e.started
		con = e.con
	}
	if con == nil {
		return fmt.Errorf("the process has no tty: %w", errdefs.ErrFailedPrecondition)
	}
	return con.Resize(console.WinSize{Height: req.Height, Width: req.Width})
}

// attach turns c into a raw stream: output streams receive what the
// process writes from now on; a stdin stream is copied into its stdin.
func (s *shim) attach(c *net.UnixConn, req shimRequest) {
	out, errOut, once := s.out, s.errOut, s.cfg.StdinOnce && !s.cfg.Tty
	stdin := func() io.WriteCloser { <-s.running; return s.stdin }
	if req.ExecID == "" && req.Stream == "stdin" && !s.cfg.OpenStdin {
		reply(c, shimResponse{}, fmt.Errorf("the container's stdin is not open (create it with -i): %w", errdefs.ErrFailedPrecondition))
		c.Close()
		return
	}
	if req.ExecID != "" {
		e, err := s.getExec(req.ExecID)
		if err != nil {
			reply(c, shimResponse{}, err)
			c.Close()
			return
		}
		out, errOut, once = e.out, e.errOut, !e.tty
		stdin = func() io.WriteCloser { <-e.started; return e.stdin }
		if !e.withStdin {
			stdin = func() io.WriteCloser { return nil }
		}
	}
	switch req.Stream {
	case "stdout", "stderr":
		f := out
		if req.Stream == "stderr" {
			f = errOut
		}
		reply(c, shimResponse{}, nil)
		if !f.add(c) {
			c.Close()
		}
	case "stdin":
		s.attachStdin(c, stdin, once)
	default:
		reply(c, shimResponse{}, fmt.Errorf("unknown stream %q: %w", req.Stream, errdefs.ErrInvalidArgument))
		c.Close()
	}
}

func (s *shim) attachStdin(c *net.UnixConn, stdin func() io.WriteCloser, closeAfter bool) {
	defer c.Close()
	reply(c, shimResponse{}, nil)
	w := stdin()
	if w == nil {
		return
	}
	stop := make(chan struct{})
	go func() {
		select {
		case <-s.exited:
			c.Close()
		case <-stop:
		}
	}()
	io.Copy(w, c) //nolint:errcheck // ends when either side closes
	close(stop)
	if closeAfter {
		w.Close()
	}
}

// fanout copies a process's output to the attached clients.
type fanout struct {
	mu     sync.Mutex
	subs   map[net.Conn]bool
	closed bool
}

func newFanout() *fanout { return &fanout{subs: map[net.Conn]bool{}} }

func (f *fanout) add(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.subs[c] = true
	return true
}

func (f *fanout) write(p []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.subs {
		if _, err := c.Write(p); err != nil {
			c.Close()
			delete(f.subs, c)
		}
	}
}

func (f *fanout) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	for c := range f.subs {
		c.Close()
		delete(f.subs, c)
	}
}
