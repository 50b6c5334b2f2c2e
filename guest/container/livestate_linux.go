package container

import "context"

// liveState is what the runtime last learnt of a container's current run:
// set when a run is created, starts, pauses, resumes or exits, and when
// New adopts the container. State answers from it.
type liveState struct {
	// status is StatusCreated (a shim waits to start the run),
	// StatusRunning, StatusPaused, StatusExited (no run: never started,
	// exited or failed to start; persisted state and exit.json say more),
	// or "" when not known (State then asks the shim).
	status Status
	pid    int
	// exit is the ended run's exit as the shim reported it, when this
	// runtime saw it (the shim writes exit.json only after answering).
	exit *ExitStatus
	// gen counts the runs started, so that the exit of an earlier run
	// seen late cannot mark a newer run exited.
	gen uint64
}

// up reports whether the run is created, running or paused.
func (l liveState) up() bool {
	return l.status == StatusCreated || l.status == StatusRunning || l.status == StatusPaused
}

// runGen returns the current run's number, taken before waiting on the
// shim for its exit.
func (c *Container) runGen() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.live.gen
}

// setLive records the state of the current run.
func (c *Container) setLive(status Status, pid int) {
	c.mu.Lock()
	c.live.status, c.live.pid, c.live.exit = status, pid, nil
	c.mu.Unlock()
}

// setStarted records a new run that the shim reports running as pid.
func (c *Container) setStarted(pid int) {
	c.mu.Lock()
	c.live.gen++
	c.live.status, c.live.pid, c.live.exit = StatusRunning, pid, nil
	c.mu.Unlock()
}

// setExited records that run gen has ended with ex, unless a newer run
// started meanwhile.
func (c *Container) setExited(gen uint64, ex ExitStatus) {
	c.mu.Lock()
	if c.live.gen == gen {
		c.live.status, c.live.pid, c.live.exit = StatusExited, 0, &ex
	}
	c.mu.Unlock()
}

// setPaused records a pause or resume of the running run.
func (c *Container) setPaused(paused bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.live.up() {
		return
	}
	c.live.status = StatusRunning
	if paused {
		c.live.status = StatusPaused
	}
}

// learnLive asks the shim for the run's state (New, adopting a container
// it did not start) and records it; it reports whether the run is up.
func (c *Container) learnLive(ctx context.Context) bool {
	resp, _, err := shimCall(ctx, c.dir, shimRequest{Op: opState})
	if err != nil || resp.Status == StatusExited || resp.Status == "" {
		c.setLive(StatusExited, 0)
		return false
	}
	c.setLive(resp.Status, resp.Pid)
	return true
}
