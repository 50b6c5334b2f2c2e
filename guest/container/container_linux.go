package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/errdefs"
)

// Container is one container of a Runtime. Its methods are safe for
// concurrent use.
type Container struct {
	rt  *Runtime
	id  string
	dir string
	cfg Config

	mu         sync.Mutex
	st         persisted
	live       liveState
	restarting bool
	monitoring bool
	stopRetry  chan struct{} // closed to cancel a pending restart
	deleted    bool
	startMu    sync.Mutex
	// pendingStreams hands the streams attached by start to Start.
	pendingStreams *Streams
}

// ID returns the container's id.
func (c *Container) ID() string { return c.id }

// Config returns the configuration the container was created with.
func (c *Container) Config() Config { return c.cfg }

// Dir returns the container's state directory.
func (c *Container) Dir() string { return c.dir }

// Rootfs returns the path of the container's root filesystem (mounted
// while the container exists).
func (c *Container) Rootfs() string { return c.rootfs() }

// LogPath returns the json-file log's path.
func (c *Container) LogPath() string { return filepath.Join(c.dir, c.id+"-json.log") }

func (c *Container) saveState() error {
	return writeJSONAtomic(filepath.Join(c.dir, "state.json"), c.st)
}

// update changes the persisted state and stores it durably (fsync).
func (c *Container) update(fn func(*persisted)) error {
	return c.updateState(true, fn)
}

// updateLazy changes the persisted state and stores it atomically but
// without fsync, for what is also kept elsewhere or matters only while
// the machine runs: it survives an agent crash (the page cache does), and
// only a crash of the whole machine can lose it.
func (c *Container) updateLazy(fn func(*persisted)) error {
	return c.updateState(false, fn)
}

func (c *Container) updateState(sync bool, fn func(*persisted)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	fn(&c.st)
	if c.deleted {
		return nil
	}
	b, err := json.MarshalIndent(c.st, "", "  ")
	if err != nil {
		return err
	}
	return replaceFile(filepath.Join(c.dir, "state.json"), b, 0o644, sync)
}

// State returns the container's current state. It is answered from
// memory: the runtime learns of every start, pause, resume and exit of a
// run (the supervisor waits on the shim for the exit), so listing many
// containers costs no round trip to their shims. Only a container whose
// run state is not known yet (none after New and Create) asks its shim.
func (c *Container) State(ctx context.Context) State {
	c.mu.Lock()
	st, restarting, live := c.st, c.restarting, c.live
	c.mu.Unlock()
	s := State{
		ExitCode: st.ExitCode, OOMKilled: st.OOMKilled, Error: st.Error, StartedAt: st.StartedAt,
		FinishedAt: st.FinishedAt, RestartCount: st.RestartCount, Status: StatusCreated,
	}
	if live.up() {
		s.Status, s.Pid = live.status, live.pid
		return s
	}
	if live.status == "" {
		if resp, _, err := shimCall(ctx, c.dir, shimRequest{Op: opState}); err == nil && resp.Status != StatusExited {
			s.Status, s.Pid = resp.Status, resp.Pid
			return s
		}
	}
	ex, ok := ExitStatus{}, false
	if live.exit != nil {
		ex, ok = *live.exit, true
	} else {
		ex, ok = c.exitRecord()
	}
	if ok {
		s.Status, s.ExitCode, s.OOMKilled, s.FinishedAt = StatusExited, ex.ExitCode, ex.OOMKilled, ex.FinishedAt
	} else if !st.StartedAt.IsZero() {
		s.Status = StatusExited
	}
	switch {
	case st.Dead:
		s.Status = StatusDead
	case restarting:
		s.Status = StatusRestarting
	}
	return s
}

// exitRecord reads the exit the shim recorded for the latest run.
func (c *Container) exitRecord() (ExitStatus, bool) {
	var ex ExitStatus
	if err := readJSON(filepath.Join(c.dir, "exit.json"), &ex); err != nil {
		return ex, false
	}
	return ex, true
}

// running reports whether the container's shim is up (created, running
// or paused). It asks the shim: the callers decide to start or stop on it.
func (c *Container) running(ctx context.Context) bool {
	resp, _, err := shimCall(ctx, c.dir, shimRequest{Op: opState})
	return err == nil && resp.Status != StatusExited
}

// spawnShim starts the shim, which runs `crun create`; it returns the
// container's pid once created.
func (c *Container) spawnShim(ctx context.Context) (int, error) {
	sc := shimConfig{
		ID: c.id, Crun: c.rt.o.crun, CrunRoot: c.rt.o.crunRoot, Tty: c.cfg.Create.Tty,
		OpenStdin: c.cfg.Create.OpenStdin, StdinOnce: c.cfg.Create.StdinOnce, Log: c.cfg.Log,
		CgroupsPath: CgroupsPath(c.id),
	}
	if err := writeDerivedJSON(filepath.Join(c.dir, "shim.json"), sc); err != nil {
		return 0, err
	}
	os.Remove(filepath.Join(c.dir, "exit.json"))
	p, err := c.rt.takeShim(ctx)
	if err != nil {
		return 0, err
	}
	defer p.sock.Close()
	if _, err := p.sock.Write([]byte(c.dir + "\n")); err != nil {
		return 0, fmt.Errorf("hand the container to its shim: %w", err)
	}
	return readReady(ctx, p.sock)
}

func readReady(ctx context.Context, rd *os.File) (int, error) {
	stop := context.AfterFunc(ctx, func() { rd.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	var b []byte
	buf := make([]byte, 4096)
	for {
		n, err := rd.Read(buf)
		b = append(b, buf[:n]...)
		if err != nil || strings.Contains(string(b), "\n") {
			break
		}
	}
	var r shimReady
	if err := json.Unmarshal(b, &r); err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, fmt.Errorf("shim died before creating the container (see shim.log): %w", errdefs.ErrUnknown)
	}
	if r.ExecFailure != 0 {
		return 0, &StartError{ExitCode: r.ExecFailure, Msg: r.Error}
	}
	if r.Error != "" {
		return 0, kindError(r.Kind, r.Error)
	}
	return r.Pid, nil
}

// Wait blocks until the container's current run exits and returns how.
// For a container that is not running it returns the last exit at once.
func (c *Container) Wait(ctx context.Context) (ExitStatus, error) {
	gen := c.runGen()
	resp, _, err := shimCall(ctx, c.dir, shimRequest{Op: opWait})
	if err == nil && resp.Exit != nil {
		c.setExited(gen, *resp.Exit) // the supervisor records it too; callers may ask State first
		return *resp.Exit, nil
	}
	if ctx.Err() != nil {
		return ExitStatus{}, ctx.Err()
	}
	if ex, ok := c.exitRecord(); ok {
		return ex, nil
	}
	st := c.State(ctx)
	if st.Status == StatusCreated {
		return ExitStatus{}, fmt.Errorf("container %s has not been started: %w", c.id, errdefs.ErrFailedPrecondition)
	}
	return ExitStatus{ExitCode: st.ExitCode, FinishedAt: st.FinishedAt, OOMKilled: st.OOMKilled}, nil
}

// ParseSignal parses "TERM", "SIGTERM" or "15".
func ParseSignal(s string) (syscall.Signal, error) {
	if s == "" {
		return syscall.SIGTERM, nil
	}
	var n int
	if _, err := fmt.Sscanf(s, "%d", &n); err == nil && fmt.Sprint(n) == s && n > 0 && n < 65 {
		return syscall.Signal(n), nil
	}
	name := strings.ToUpper(strings.TrimPrefix(strings.ToUpper(s), "SIG"))
	for i := 1; i < 65; i++ {
		if strings.TrimPrefix(strings.ToUpper(unixSignalName(syscall.Signal(i))), "SIG") == name {
			return syscall.Signal(i), nil
		}
	}
	return 0, fmt.Errorf("invalid signal: %s: %w", s, errdefs.ErrInvalidArgument)
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
