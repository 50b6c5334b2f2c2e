package container

import (
	"context"
	"errors"
	"fmt"
	"github.com/berth-dev/berth/guest/internal/steptimer"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/errdefs"
)

// Start runs the container. When attach is non-nil the returned Streams
// are connected before the process starts, so no output is missed. A
// command that cannot be executed yields a *StartError (exit code 126 or
// 127). Starting a running container is a no-op.
func (c *Container) Start(ctx context.Context, attach *AttachOptions) (*Streams, error) {
	c.startMu.Lock()
	defer c.startMu.Unlock()
	c.cancelRestart()
	if c.running(ctx) {
		return nil, nil
	}
	if err := c.start(ctx, attach, false); err != nil {
		return nil, err
	}
	return c.pendingStreams, nil
}

// start does the work of Start (and of a restart by the supervisor).
func (c *Container) start(ctx context.Context, attach *AttachOptions, restart bool) error {
	c.pendingStreams = nil
	c.mu.Lock()
	stopped := c.st.ManuallyStopped
	c.mu.Unlock()
	if stopped { // else nothing to store: the start below saves the state
		c.update(func(p *persisted) { p.ManuallyStopped = false }) //nolint:errcheck // saved again below
	}
	sp := steptimer.New(ctx, "runtime start", c.id)
	defer sp.Log()
	c.waitShimGone(ctx) // the previous run's shim must have deleted crun's state
	sp.Done("previous shim")
	if err := c.mountRootfs(); err != nil {
		return err
	}
	sp.Done("rootfs")
	if _, err := c.spawnShim(ctx); err != nil {
		c.recordStartFailure(err)
		return err
	}
	sp.Done("shim+crun create")
	c.setLive(StatusCreated, 0)
	if attach != nil {
		var err error
		if c.pendingStreams, err = c.Attach(ctx, *attach); err != nil {
			c.waitShimGone(ctx) // ends the shim of a container not started
			c.setLive(StatusExited, 0)
			return err
		}
	}
	sp.Done("attach")
	resp, _, err := shimCall(ctx, c.dir, shimRequest{Op: opStart})
	sp.Done("crun start")
	c.rt.refillLater()
	if err != nil {
		c.waitShimGone(ctx)
		if c.pendingStreams != nil {
			c.pendingStreams.Close()
		}
		c.recordStartFailure(err)
		return err
	}
	c.setStarted(resp.Pid)
	// Only a restart policy needs the start to survive a crash of the
	// machine (to restart the container at boot); otherwise an fsync here
	// would only delay every `run`.
	save := c.updateLazy
	if c.cfg.Restart.Name != "" && c.cfg.Restart.Name != "no" {
		save = c.update
	}
	save(func(p *persisted) { //nolint:errcheck // state is also in the shim
		p.StartedAt, p.Pid, p.Error, p.Dead = time.Now().UTC(), resp.Pid, "", false
		if restart {
			p.RestartCount++
		} else {
			p.RestartCount = 0
		}
	})
	sp.Done("state")
	c.rt.emit(c.id, EventStart, 0)
	c.monitor()
	sp.Done("emit+monitor")
	return nil
}

func (c *Container) recordStartFailure(err error) {
	code := 128
	var se *StartError
	if errors.As(err, &se) {
		code = se.ExitCode
	}
	c.setLive(StatusExited, 0)
	c.update(func(p *persisted) { p.Error, p.ExitCode = err.Error(), code }) //nolint:errcheck // best effort
}

// Kill sends sig to the container's init process. SIGKILL or the
// container's stop signal mark it manually stopped (no restart), as docker.
func (c *Container) Kill(ctx context.Context, sig syscall.Signal) error {
	stopSig, _ := ParseSignal(c.cfg.Create.StopSignal)
	if sig == syscall.SIGKILL || sig == stopSig {
		c.markStopped()
	}
	_, _, err := shimCall(ctx, c.dir, shimRequest{Op: opKill, Signal: int(sig)})
	if errdefs.IsNotFound(err) {
		return fmt.Errorf("container %s is not running: %w", c.id, errdefs.ErrConflict)
	}
	return err
}

func (c *Container) markStopped() {
	c.cancelRestart()
	c.update(func(p *persisted) { p.ManuallyStopped = true }) //nolint:errcheck // best effort
}

// StopTimeout is the container's configured stop timeout (docker: 10 s).
func (c *Container) StopTimeout() time.Duration {
	if t := c.cfg.Create.StopTimeout; t != nil {
		if *t < 0 {
			return -1
		}
		return time.Duration(*t) * time.Second
	}
	return 10 * time.Second
}

// Stop sends the stop signal, waits up to timeout (nil: the container's
// StopTimeout; negative: forever) and then sends SIGKILL. Stopping a
// container that is not running succeeds.
func (c *Container) Stop(ctx context.Context, timeout *time.Duration) error {
	c.markStopped()
	c.startMu.Lock() // let a start in flight (a restart) finish first
	c.startMu.Unlock()
	if !c.running(ctx) {
		return nil
	}
	d := c.StopTimeout()
	if timeout != nil {
		d = *timeout
	}
	sig, err := ParseSignal(c.cfg.Create.StopSignal)
	if err != nil {
		return err
	}
	if err := c.Kill(ctx, sig); err != nil && !errdefs.IsConflict(err) {
		return err
	}
	if d >= 0 {
		wctx, cancel := context.WithTimeout(ctx, d)
		_, werr := c.Wait(wctx)
		cancel()
		if werr == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := c.Kill(ctx, syscall.SIGKILL); err != nil && !errdefs.IsConflict(err) {
			return err
		}
	}
	_, err = c.Wait(ctx)
	return err
}

// Pause freezes every process of the container (cgroup freezer).
func (c *Container) Pause(ctx context.Context) error {
	return c.pauseOp(ctx, opPause, EventPause)
}

// Resume thaws a paused container.
func (c *Container) Resume(ctx context.Context) error {
	return c.pauseOp(ctx, opResume, EventUnpause)
}

func (c *Container) pauseOp(ctx context.Context, op, event string) error {
	_, _, err := shimCall(ctx, c.dir, shimRequest{Op: op})
	if errdefs.IsNotFound(err) {
		return fmt.Errorf("container %s is not running: %w", c.id, errdefs.ErrConflict)
	}
	if err == nil {
		c.setPaused(op == opPause)
		c.rt.emit(c.id, event, 0)
	}
	return err
}

// Delete removes the container. A running container is a conflict unless
// force is set, in which case it is killed first.
func (c *Container) Delete(ctx context.Context, force bool) error {
	c.cancelRestart()
	c.startMu.Lock() // let a start in flight (a restart) finish first
	c.startMu.Unlock()
	if st := c.State(ctx).Status; st == StatusRunning || st == StatusPaused {
		if !force {
			return fmt.Errorf("you cannot remove a running container %s. Stop the container before attempting removal or force remove: %w", c.id, errdefs.ErrConflict)
		}
		c.markStopped()
		if err := c.Kill(ctx, syscall.SIGKILL); err != nil && !errdefs.IsConflict(err) {
			return err
		}
		if _, err := c.Wait(ctx); err != nil {
			return err
		}
	}
	sp := steptimer.New(ctx, "runtime delete", c.id)
	defer sp.Log()
	// The state dir goes: the shim need not store the exit first.
	shimCall(ctx, c.dir, shimRequest{Op: opShutdown, Discard: true}) //nolint:errcheck // gone already is fine
	sp.Done("shim gone")
	c.mu.Lock()
	already := c.deleted
	c.deleted = true // no more state writes from the supervisor
	c.mu.Unlock()
	if err := c.cleanup(ctx); err != nil {
		c.mu.Lock()
		c.deleted, c.st.Dead = false, true
		c.saveState() //nolint:errcheck // best effort
		c.mu.Unlock()
		return err
	}
	sp.Done("cleanup")
	c.rt.forget(c.id)
	if !already {
		c.rt.emit(c.id, EventDestroy, 0)
	}
	return nil
}

// waitShimGone waits until an exited container's shim has cleaned up
// crun's state (it then goes away).
func (c *Container) waitShimGone(ctx context.Context) {
	shimCall(ctx, c.dir, shimRequest{Op: opShutdown}) //nolint:errcheck // gone already is fine
}

// Attach connects to the container's stdio. Output streams receive what
// the container writes from now on.
func (c *Container) Attach(ctx context.Context, o AttachOptions) (*Streams, error) {
	return attachStreams(ctx, c.dir, "", o, c.cfg.Create.Tty)
}

func attachStreams(ctx context.Context, dir, execID string, o AttachOptions, tty bool) (*Streams, error) {
	var names []string
	for _, n := range []struct {
		name string
		want bool
	}{{"stdin", o.Stdin}, {"stdout", o.Stdout}, {"stderr", o.Stderr && !tty}} {
		if n.want {
			names = append(names, n.name)
		}
	}
	// One connection per stream, opened at the same time: each is a round
	// trip to the shim, on the way to starting the container.
	conns := make([]net.Conn, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, conns[i], errs[i] = shimCall(ctx, dir, shimRequest{Op: opAttach, Stream: name, ExecID: execID})
		}()
	}
	wg.Wait()
	s := &Streams{}
	var first error
	for i, name := range names {
		if errs[i] != nil && first == nil {
			first = errs[i]
		}
		if conns[i] == nil {
			continue
		}
		switch name {
		case "stdin":
			s.Stdin = conns[i]
		case "stdout":
			s.Stdout = conns[i]
		default:
			s.Stderr = conns[i]
		}
	}
	if first != nil {
		s.Close()
		if errdefs.IsNotFound(first) && execID == "" {
			return nil, fmt.Errorf("cannot attach: the container is not running: %w", errdefs.ErrConflict)
		}
		return nil, first
	}
	return s, nil
}

// Resize sets the container's terminal size.
func (c *Container) Resize(ctx context.Context, width, height uint16) error {
	_, _, err := shimCall(ctx, c.dir, shimRequest{Op: opResize, Width: width, Height: height})
	return err
}
