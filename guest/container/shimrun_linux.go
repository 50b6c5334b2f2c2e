package container

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/containerd/console"
	"github.com/containerd/errdefs"
	runc "github.com/containerd/go-runc"
	"golang.org/x/sys/unix"
)

// crunResult is how the foreground `crun run` ended.
type crunResult struct {
	status int
	err    error
}

// start runs the container with `crun run` in the foreground: one crun
// process creates, starts, waits for and deletes the container, which is
// much faster than create + start + delete. It returns once the container
// runs (its pid file exists) or crun failed.
func (s *shim) start() (int, error) {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return 0, fmt.Errorf("container %s is already started: %w", s.cfg.ID, errdefs.ErrConflict)
	}
	s.started = true
	s.mu.Unlock()
	pidFile := filepath.Join(s.dir, "init.pid")
	os.Remove(pidFile)
	startedCh := make(chan int, 1)
	opts := &runc.CreateOpts{PidFile: pidFile, Started: startedCh}
	if s.pio != nil {
		opts.IO = s.pio
	} else {
		opts.ConsoleSocket = s.sock
	}
	done := make(chan crunResult, 1)
	go func() {
		status, err := s.rc.Run(context.Background(), s.cfg.ID, s.dir, opts)
		done <- crunResult{status, err}
	}()
	if _, ok := <-startedCh; ok && s.pio != nil {
		s.pio.(runc.StartCloser).CloseAfterStart() //nolint:errcheck // only our copies of the child's ends
	}
	pid, err := s.awaitRunning(pidFile, done)
	defer close(s.running)
	if err != nil {
		s.failStart()
		return 0, err
	}
	s.mu.Lock()
	s.pid = pid
	if fd, err := unix.PidfdOpen(pid, 0); err == nil {
		s.pidfd = fd
	}
	s.mu.Unlock()
	s.startPumps()
	watchOOM(s.cfg.CgroupsPath, &s.oom)
	go s.waitInit(done)
	return pid, nil
}

// awaitRunning waits for the pid file (and, with a tty, the console), or
// for crun to end first, which means the container could not start.
func (s *shim) awaitRunning(pidFile string, done chan crunResult) (int, error) {
	var master chan console.Console
	if s.sock != nil {
		master = make(chan console.Console, 1)
		go func() {
			c, err := s.sock.ReceiveMaster()
			if err == nil {
				master <- c
			}
		}()
	}
	for delay := 100 * time.Microsecond; ; delay = min(delay*2, time.Millisecond) {
		select {
		case r := <-done:
			if pid, err := readPid(pidFile); err == nil && lastCrunError(s.rc.Log) == "" {
				done <- r // it ran and exited already
				return pid, s.takeConsole(master)
			}
			return 0, crunError(s.rc.Log, "create", s.argv0(), r.err)
		case <-time.After(delay):
		}
		if pid, err := readPid(pidFile); err == nil {
			return pid, s.takeConsole(master)
		}
	}
}

func (s *shim) takeConsole(master chan console.Console) error {
	if master == nil {
		return nil
	}
	select {
	case s.con = <-master:
	case <-time.After(10 * time.Second):
		return fmt.Errorf("crun did not send the console: %w", errdefs.ErrUnknown)
	}
	s.sock.Close()
	if s.cfg.OpenStdin {
		s.stdin = s.con
	}
	return nil
}

// failStart ends a shim whose container could not start: there is no exit
// to record, the agent keeps the container "created".
func (s *shim) failStart() {
	s.mu.Lock()
	s.reaped = true
	s.mu.Unlock()
	if s.pio != nil {
		s.pio.Close()
	}
	if s.sock != nil {
		s.sock.Close()
	}
	s.log.Close()
	close(s.exited)
	close(s.cleaned)
}

// waitInit waits for crun (and so the container) to end, releases the
// waiters with the exit and then records it atomically in exit.json. The
// shim serves until that file is written (cleaned), so whoever misses the
// answer from the shim finds the file; the waiters (the attached client
// first of all) need not wait for the fsync.
func (s *shim) waitInit(done chan crunResult) {
	r := <-done
	s.mu.Lock()
	s.reaped = true
	s.mu.Unlock()
	st := ExitStatus{ExitCode: r.status, FinishedAt: time.Now().UTC(), OOMKilled: s.oom.Load()}
	if st.ExitCode < 0 {
		st.ExitCode = 255
	}
	waitTimeout(&s.ioWG, 2*time.Second)
	s.log.Close()
	s.mu.Lock()
	s.exit = &st
	s.mu.Unlock()
	close(s.exited)
	s.out.close()
	s.errOut.close()
	if s.con != nil {
		s.con.Close()
	} else {
		s.pio.Close()
	}
	if err := writeJSONAtomic(filepath.Join(s.dir, "exit.json"), st); err != nil {
		fmt.Fprintf(os.Stderr, "shim: record exit: %v\n", err)
	}
	if msg := lastCrunError(s.rc.Log); msg != "" {
		fmt.Fprintf(os.Stderr, "shim: crun: %s\n", msg)
	}
	close(s.cleaned)
}

// shutdown ends a shim whose container never started (Delete of a
// created container); for a started one it waits for the cleanup, or with
// discard only until the container is gone (crun run deleted its state
// before it exited): the exit record is not needed in a deleted dir.
func (s *shim) shutdown(discard bool) {
	s.mu.Lock()
	started := s.started
	s.started = true
	s.mu.Unlock()
	if !started {
		s.failStart()
		close(s.running)
		return
	}
	if discard {
		<-s.exited
		return
	}
	<-s.cleaned
}
