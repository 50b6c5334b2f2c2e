package container

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"

	"github.com/containerd/errdefs"
)

// Shutdown stops every running container the way docker's daemon does when
// it shuts down: all at once, each with its stop signal, then SIGKILL after
// its stop timeout. Unlike Stop it does not mark them manually stopped, so
// their restart policies ("always", "unless-stopped", "on-failure")
// apply again when a runtime next opens the root, as after a daemon
// restart; and from the moment Shutdown is called this runtime restarts
// nothing. It returns once every container has exited and its exit is on
// disk (the shim's exit.json, fsynced; the machine powers off right after),
// or ctx ended.
func (r *Runtime) Shutdown(ctx context.Context) error {
	r.shuttingDown.Store(true)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, c := range r.List() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.shutdownStop(ctx); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("stop container %s: %w", c.id, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// shutdownStop is Stop without the manual-stop mark. It returns once the
// container's shim has recorded the exit durably: the shim answers Wait
// before it writes exit.json, and the agent's own record is written
// without fsync, so a VM powered off right after the answer could come back
// with neither (the container then reads "exited 255").
func (c *Container) shutdownStop(ctx context.Context) error {
	err := c.shutdownSignal(ctx)
	if err == nil {
		c.waitShimGone(ctx)
	}
	return err
}

// shutdownSignal stops the container with its stop signal, then SIGKILL
// after its stop timeout, and waits for it to exit.
func (c *Container) shutdownSignal(ctx context.Context) error {
	c.cancelRestart()
	c.startMu.Lock() // let a start in flight finish first
	c.startMu.Unlock()
	if !c.running(ctx) {
		return nil
	}
	if c.State(ctx).Status == StatusPaused {
		_ = c.Resume(ctx) // a frozen process cannot handle its stop signal
	}
	sig, err := ParseSignal(c.cfg.Create.StopSignal)
	if err != nil {
		sig = syscall.SIGTERM
	}
	if err := c.signal(ctx, sig); err != nil {
		return err
	}
	if d := c.StopTimeout(); d >= 0 {
		wctx, cancel := context.WithTimeout(ctx, d)
		_, werr := c.Wait(wctx)
		cancel()
		if werr == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := c.signal(ctx, syscall.SIGKILL); err != nil {
			return err
		}
	}
	_, err = c.Wait(ctx)
	return err
}

// signal sends sig to the container's init process without touching its
// restart bookkeeping; a container that already exited is not an error.
func (c *Container) signal(ctx context.Context, sig syscall.Signal) error {
	_, _, err := shimCall(ctx, c.dir, shimRequest{Op: opKill, Signal: int(sig)})
	if errdefs.IsNotFound(err) {
		return nil
	}
	return err
}
