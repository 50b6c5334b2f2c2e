package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/containerd/console"
	"github.com/containerd/errdefs"
	runc "github.com/containerd/go-runc"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// execProc is one exec'd process in the shim.
type execProc struct {
	id        string
	proc      specs.Process
	tty       bool
	withStdin bool
	pio       runc.IO
	con       console.Console
	stdin     io.WriteCloser
	out       *fanout
	errOut    *fanout
	ioWG      sync.WaitGroup
	startOnce sync.Once
	started   chan struct{} // closed when started (or failed to)
	done      chan struct{}
	exit      *ExitStatus
}

func (s *shim) getExec(id string) (*execProc, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.execs[id]
	if !ok {
		return nil, fmt.Errorf("no such exec instance: %s: %w", id, errdefs.ErrNotFound)
	}
	return e, nil
}

func (s *shim) execCreate(req shimRequest) error {
	if req.Process == nil || req.ExecID == "" {
		return fmt.Errorf("exec-create needs an id and a process: %w", errdefs.ErrInvalidArgument)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkRunning(); err != nil {
		return err
	}
	if _, dup := s.execs[req.ExecID]; dup {
		return fmt.Errorf("exec %s already exists: %w", req.ExecID, errdefs.ErrAlreadyExists)
	}
	e := &execProc{
		id: req.ExecID, proc: *req.Process, tty: req.Process.Terminal, withStdin: req.Stdin,
		out: newFanout(), errOut: newFanout(), started: make(chan struct{}), done: make(chan struct{}),
	}
	s.execs[e.id] = e
	return nil
}

func (s *shim) execStart(ctx context.Context, id string) (int, error) {
	e, err := s.getExec(id)
	if err != nil {
		return 0, err
	}
	var pid int
	err = errors.New("exec already started")
	e.startOnce.Do(func() {
		pid, err = s.runExec(ctx, e)
		if err != nil {
			st := ExitStatus{ExitCode: 126, FinishedAt: time.Now().UTC()}
			var se *StartError
			if errors.As(err, &se) {
				st.ExitCode = se.ExitCode
			}
			e.exit = &st
			e.out.close()
			e.errOut.close()
			close(e.started)
			close(e.done)
		}
	})
	return pid, err
}

func (s *shim) runExec(ctx context.Context, e *execProc) (int, error) {
	pidFile := filepath.Join(s.dir, "exec-"+e.id+".pid")
	logFile := filepath.Join(s.dir, "exec-"+e.id+".log")
	defer os.Remove(pidFile)
	defer os.Remove(logFile)
	opts := &runc.ExecOpts{PidFile: pidFile, Detach: true, LogFile: logFile}
	var sock *runc.Socket
	var err error
	if e.tty {
		if sock, err = runc.NewTempConsoleSocket(); err != nil {
			return 0, fmt.Errorf("console socket: %w", err)
		}
		defer sock.Close()
		opts.ConsoleSocket = sock
	} else {
		if e.pio, err = runc.NewPipeIO(0, 0, func(o *runc.IOOption) { o.OpenStdin = e.withStdin }); err != nil {
			return 0, fmt.Errorf("stdio pipes: %w", err)
		}
		opts.IO = e.pio
	}
	if err := s.rc.Exec(ctx, s.cfg.ID, e.proc, opts); err != nil {
		if e.pio != nil {
			e.pio.Close()
		}
		argv0 := ""
		if len(e.proc.Args) > 0 {
			argv0 = e.proc.Args[0]
		}
		return 0, crunError(logFile, "exec", argv0, err)
	}
	pid, err := readPid(pidFile)
	if err != nil {
		return 0, err
	}
	if sock != nil {
		if e.con, err = sock.ReceiveMaster(); err != nil {
			return 0, fmt.Errorf("receive console: %w", err)
		}
		e.stdin = e.con
		e.ioWG.Add(1)
		go execPump(&e.ioWG, e.con, e.out)
	} else {
		e.stdin = e.pio.Stdin()
		e.ioWG.Add(2)
		go execPump(&e.ioWG, e.pio.Stdout(), e.out)
		go execPump(&e.ioWG, e.pio.Stderr(), e.errOut)
	}
	close(e.started)
	go s.waitExec(e, pid)
	return pid, nil
}

func execPump(wg *sync.WaitGroup, r io.Reader, f *fanout) {
	defer wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			f.write(buf[:n])
		}
		if err != nil {
			return
		}
	}
}

func (s *shim) waitExec(e *execProc, pid int) {
	st := ExitStatus{ExitCode: s.reaper.wait(pid), FinishedAt: time.Now().UTC()}
	waitTimeout(&e.ioWG, 2*time.Second)
	e.exit = &st
	e.out.close()
	e.errOut.close()
	if e.con != nil {
		e.con.Close()
	} else {
		e.pio.Close()
	}
	close(e.done)
}

func (s *shim) execWait(id string) (*ExitStatus, error) {
	e, err := s.getExec(id)
	if err != nil {
		return nil, err
	}
	<-e.done
	return e.exit, nil
}
