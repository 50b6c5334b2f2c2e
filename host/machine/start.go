package machine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/internal/errkind"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// Timeouts of the machine lifecycle.
const (
	// StartTimeout bounds how long Start waits for the agent to answer.
	StartTimeout = 2 * time.Minute
	// StopTimeout bounds how long Stop waits for the daemon to exit before
	// killing it.
	StopTimeout = 30 * time.Second
	// maxLogSize is the size above which daemon.log is rotated at start.
	maxLogSize = 8 << 20
	// pingTimeout bounds one readiness probe.
	pingTimeout = 2 * time.Second
)

// EnsureRunning returns the running machine name, creating the default
// machine with the OS's default driver when it does not exist yet, and
// starting it (with one line of progress on progress) when it is stopped.
// A machine whose VM stopped on its own (LastExit) is not started again:
// the error (errdefs.ErrUnavailable) says so and how to start it.
func (s *Store) EnsureRunning(ctx context.Context, name string, progress io.Writer) (*Machine, error) {
	m, err := s.getOrCreate(ctx, name)
	if err != nil {
		return nil, err
	}
	switch st := m.State(); {
	case st == StateRunning:
		return m, nil
	case !st.Running():
		if e, crashed := m.LastExit(); crashed {
			return nil, notRunning(m, e)
		}
	}
	return s.Start(ctx, name, progress)
}

// getOrCreate returns machine name, creating the default machine with the
// OS's default driver when it does not exist yet.
func (s *Store) getOrCreate(ctx context.Context, name string) (*Machine, error) {
	m, err := s.Get(name)
	if errdefs.IsNotFound(err) && name == DefaultName {
		m, err = s.Create(ctx, Config{Name: name})
		if errdefs.IsAlreadyExists(err) { // another berth created it just now
			m, err = s.Get(name)
		}
	}
	return m, err
}

// Start starts the machine's daemon in the background and waits until the
// agent answers through it; the default machine is created first when it
// does not exist yet. Starting a running machine does nothing. Two
// concurrent Starts of one machine start one daemon. Start also starts a
// machine whose VM stopped on its own, and clears that record.
func (s *Store) Start(ctx context.Context, name string, progress io.Writer) (*Machine, error) {
	m, err := s.getOrCreate(ctx, name)
	if err != nil {
		return nil, err
	}
	if _, err := s.drivers.Get(m.Config.Driver); err != nil {
		return nil, fmt.Errorf("machine %q: %w", name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, StartTimeout)
	defer cancel()
	l, err := lockFile(ctx, filepath.Join(m.dir, startLock))
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	if m.State().Running() {
		return m, waitReady(ctx, m, nil)
	}
	if err := clearLastExit(m.dir); err != nil {
		return nil, fmt.Errorf("machine %q: %w", name, err)
	}
	if progress != nil {
		fmt.Fprintf(progress, "Starting machine %q (%s driver)...\n", name, m.Config.Driver)
	}
	exited, err := s.spawnDaemon(m)
	if err != nil {
		return nil, err
	}
	if err := waitReady(ctx, m, exited); err != nil {
		return nil, fmt.Errorf("machine %q did not start: %w%s", name, err, logTail(m.LogPath()))
	}
	return m, nil
}

// spawnDaemon runs the daemon detached, its output appended to daemon.log.
// The returned channel is closed when the daemon exits.
func (s *Store) spawnDaemon(m *Machine) (<-chan struct{}, error) {
	cmd, err := s.spawn(m.Name)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(m.LogPath()); err == nil && fi.Size() > maxLogSize {
		_ = os.Rename(m.LogPath(), m.LogPath()+".1") // keep one old log
	}
	logf, err := os.OpenFile(m.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("machine %q: open daemon log: %w", m.Name, err)
	}
	defer logf.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, logf, logf
	cmd.Dir = m.dir // hold no user dir busy
	detach(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("machine %q: start daemon: %w", m.Name, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	return exited, nil
}

// waitReady waits until the agent answers System.Version through the
// daemon's socket, the daemon exits (exited closed), or ctx ends.
func waitReady(ctx context.Context, m *Machine, exited <-chan struct{}) error {
	var last error
	for {
		if last = ping(ctx, m); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out waiting for the agent: %w", last)
		case <-exited:
			return errors.New("the machine daemon exited")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// ping asks the agent for its version through the daemon.
func ping(ctx context.Context, m *Machine) error {
	conn, err := m.Dialer()()
	if err != nil {
		return err
	}
	return agentCall(ctx, conn, "Version", &agentv1.VersionResponse{})
}

// logTail returns the last lines of the daemon log, for error messages.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return ""
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return "\nlast lines of " + path + ":\n  " + strings.ReplaceAll(string(bytes.Join(lines, []byte("\n"))), "\n", "\n  ")
}

// Stop stops the machine's daemon (which stops the agent) and waits until
// it has exited; after StopTimeout it is killed. Stopping a stopped machine
// only clears the record of its VM stopping on its own (LastExit).
func (s *Store) Stop(ctx context.Context, name string) error {
	m, err := s.Get(name)
	if err != nil {
		return err
	}
	l, err := lockFile(ctx, filepath.Join(m.dir, startLock))
	if err != nil {
		return err
	}
	defer l.Unlock()
	// A stop also acknowledges a VM that stopped on its own: the machine is
	// then stopped as usual, and commands start it again.
	if err := clearLastExit(m.dir); err != nil {
		return fmt.Errorf("machine %q: %w", name, err)
	}
	st, ok := m.Status()
	if !ok {
		return nil
	}
	if st.PID <= 0 {
		return errkind.New(errdefs.ErrUnknown, "machine %q: the daemon runs but its pid is unknown; see %s", name, m.LogPath())
	}
	if err := terminate(st.PID); err != nil {
		return fmt.Errorf("machine %q: stop daemon (pid %d): %w", name, st.PID, err)
	}
	tctx, cancel := context.WithTimeout(ctx, StopTimeout)
	defer cancel()
	if waitUnlocked(tctx, m) {
		waitGone(tctx, st.PID)
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	_ = kill(st.PID)
	kctx, kcancel := context.WithTimeout(ctx, 5*time.Second)
	defer kcancel()
	if !waitUnlocked(kctx, m) {
		return errkind.New(errdefs.ErrUnknown, "machine %q: daemon (pid %d) does not exit", name, st.PID)
	}
	return nil
}

// waitGone waits until process pid has exited: the daemon releases its lock
// just before it exits.
func waitGone(ctx context.Context, pid int) {
	for !gone(pid) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// waitUnlocked waits until no daemon holds the machine's lock.
func waitUnlocked(ctx context.Context, m *Machine) bool {
	for isLocked(filepath.Join(m.dir, daemonLock)) {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
	return true
}
