package container

import (
	"context"
	"errors"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
)

// Docker's restart backoff: 100 ms doubling up to a minute, reset once a
// run lasted 10 s.
const (
	backoffStart = 100 * time.Millisecond
	backoffMax   = time.Minute
	backoffReset = 10 * time.Second
)

func nextBackoff(prev, ran time.Duration) time.Duration {
	if prev == 0 || ran >= backoffReset {
		return backoffStart
	}
	return min(prev*2, backoffMax)
}

// shouldRestart applies the restart policy to an exit.
func (c *Container) shouldRestart(code int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.st.ManuallyStopped || c.deleted || c.rt.shuttingDown.Load() {
		return false
	}
	p := c.cfg.Restart
	switch p.Name {
	case "always", "unless-stopped":
		return true
	case "on-failure":
		return code != 0 && (p.MaximumRetryCount == 0 || c.st.RestartCount < p.MaximumRetryCount)
	}
	return false
}

// monitor starts the container's supervisor unless one runs.
func (c *Container) monitor() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.monitoring {
		return
	}
	c.monitoring = true
	c.rt.wg.Add(1)
	go c.supervise()
}

// supervise records each exit of the container and applies the restart
// policy and auto-removal, until the container stays stopped.
func (c *Container) supervise() {
	defer c.rt.wg.Done()
	defer func() { c.mu.Lock(); c.monitoring = false; c.mu.Unlock() }()
	ctx := c.rt.ctx
	var backoff time.Duration
	for {
		gen := c.runGen()
		ex, err := c.waitExit(ctx)
		if err != nil {
			return
		}
		c.mu.Lock()
		ran := ex.FinishedAt.Sub(c.st.StartedAt)
		c.mu.Unlock()
		c.setExited(gen, ex)
		c.recordExit(ex)
		if !c.shouldRestart(ex.ExitCode) {
			if c.cfg.AutoRemove {
				if err := c.Delete(ctx, true); err != nil {
					log.G(ctx).WithError(err).Warnf("auto-remove container %s", c.id)
				}
			}
			return
		}
		backoff = nextBackoff(backoff, ran)
		if !c.sleepRestart(ctx, backoff) {
			if ctx.Err() != nil {
				return
			}
			c.startMu.Lock() // let a concurrent Start finish, then watch its run
			c.startMu.Unlock()
			continue
		}
		if err := c.restart(ctx); err != nil {
			log.G(ctx).WithError(err).Warnf("restart container %s", c.id)
			c.recordExit(ExitStatus{ExitCode: c.State(ctx).ExitCode, FinishedAt: time.Now().UTC()})
			return
		}
	}
}

func (c *Container) restart(ctx context.Context) error {
	c.startMu.Lock()
	defer c.startMu.Unlock()
	c.mu.Lock()
	stopped := c.st.ManuallyStopped || c.deleted || c.rt.shuttingDown.Load()
	c.restarting = false
	c.mu.Unlock()
	if stopped || c.running(ctx) {
		return nil
	}
	err := c.start(ctx, nil, true)
	if err == nil {
		c.rt.emit(c.id, EventRestart, 0)
	}
	return err
}

// waitExit waits for the current run's exit (the shim's answer, else the
// recorded exit file, else a lost run: 255 as docker reports it).
func (c *Container) waitExit(ctx context.Context) (ExitStatus, error) {
	resp, _, err := shimCall(ctx, c.dir, shimRequest{Op: opWait})
	if err == nil && resp.Exit != nil {
		return *resp.Exit, nil
	}
	if ctx.Err() != nil {
		return ExitStatus{}, ctx.Err()
	}
	if !errdefs.IsNotFound(err) && !errors.Is(err, errShimGone) {
		return ExitStatus{}, err
	}
	if ex, ok := c.exitRecord(); ok {
		return ex, nil
	}
	ex := ExitStatus{ExitCode: 255, FinishedAt: time.Now().UTC()}
	writeJSONAtomic(c.dir+"/exit.json", ex) //nolint:errcheck // best effort: the dir may be gone
	return ex, nil
}

func (c *Container) recordExit(ex ExitStatus) {
	// The shim's exit.json has the exit durably: no fsync here, which
	// would hold c.mu (and so State, Wait and Delete) for its duration.
	c.updateLazy(func(p *persisted) { //nolint:errcheck // the shim's exit.json also has it
		p.FinishedAt, p.ExitCode, p.OOMKilled, p.Pid = ex.FinishedAt, ex.ExitCode, ex.OOMKilled, 0
	})
	if ex.OOMKilled {
		c.rt.emit(c.id, EventOOM, ex.ExitCode)
	}
	c.rt.emit(c.id, EventDie, ex.ExitCode)
}

// sleepRestart waits d in the restarting state; false if cancelled.
func (c *Container) sleepRestart(ctx context.Context, d time.Duration) bool {
	ch := make(chan struct{})
	c.mu.Lock()
	c.restarting, c.stopRetry = true, ch
	c.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		c.mu.Lock()
		c.stopRetry = nil
		c.mu.Unlock()
		return true
	case <-ch:
	case <-ctx.Done():
	}
	c.mu.Lock()
	c.restarting = false
	c.mu.Unlock()
	return false
}

// cancelRestart cancels a pending restart (Start, Stop, Kill, Delete).
func (c *Container) cancelRestart() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopRetry != nil {
		close(c.stopRetry)
		c.stopRetry = nil
	}
	c.restarting = false
}

// adopt re-attaches to a container found at start: a running one is
// supervised again; one that exited while the agent was away has its
// exit recorded and its restart policy applied.
func (c *Container) adopt(ctx context.Context) {
	if c.learnLive(ctx) {
		c.monitor()
		return
	}
	c.mu.Lock()
	everStarted := !c.st.StartedAt.IsZero()
	lost := everStarted && c.st.FinishedAt.Before(c.st.StartedAt)
	code := c.st.ExitCode
	c.mu.Unlock()
	if !everStarted {
		return
	}
	if lost {
		ex, err := c.waitExit(ctx)
		if err != nil {
			return
		}
		c.recordExit(ex)
		code = ex.ExitCode
	}
	if c.restartOnBoot(code) {
		c.rt.wg.Add(1)
		go func() {
			defer c.rt.wg.Done()
			if err := c.restart(c.rt.ctx); err != nil {
				log.G(ctx).WithError(err).Warnf("restart container %s", c.id)
			}
		}()
	} else if c.cfg.AutoRemove {
		c.Delete(ctx, true) //nolint:errcheck // best effort at start
	}
}

// restartOnBoot applies the restart policy when the agent starts: like
// docker, "always" brings back even a manually stopped container,
// "unless-stopped" does not.
func (c *Container) restartOnBoot(code int) bool {
	c.mu.Lock()
	if c.cfg.Restart.Name == "always" && c.st.ManuallyStopped {
		c.st.ManuallyStopped = false
		c.saveState() //nolint:errcheck // best effort; the start records it again
	}
	c.mu.Unlock()
	return c.shouldRestart(code)
}
