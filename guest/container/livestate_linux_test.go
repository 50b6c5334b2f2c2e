package container

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestStateFromMemory checks that State answers from what the runtime
// learnt of the run, without a shim (there is none in this test), and
// that a late exit of an older run does not end a newer one.
func TestStateFromMemory(t *testing.T) {
	ctx := context.Background()
	finished := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name       string
		steps      func(c *Container)
		wantStatus Status
		wantPid    int
		wantCode   int
	}{
		{"created container", func(c *Container) {}, StatusCreated, 0, 0},
		{"running", func(c *Container) { c.setStarted(42) }, StatusRunning, 42, 0},
		{"paused", func(c *Container) { c.setStarted(42); c.setPaused(true) }, StatusPaused, 42, 0},
		{"resumed", func(c *Container) { c.setStarted(42); c.setPaused(true); c.setPaused(false) }, StatusRunning, 42, 0},
		{"exited", func(c *Container) {
			c.setStarted(42)
			c.st.StartedAt = finished.Add(-time.Second)
			c.setExited(c.runGen(), ExitStatus{ExitCode: 3, FinishedAt: finished})
		}, StatusExited, 0, 3},
		{"pause after exit is ignored", func(c *Container) {
			c.setStarted(42)
			c.setExited(c.runGen(), ExitStatus{ExitCode: 1, FinishedAt: finished})
			c.setPaused(true)
		}, StatusExited, 0, 1},
		{"late exit of an older run", func(c *Container) {
			c.setStarted(42)
			old := c.runGen()
			c.setStarted(43)
			c.setExited(old, ExitStatus{ExitCode: 9, FinishedAt: finished})
		}, StatusRunning, 43, 0},
		{"start failure", func(c *Container) {
			c.setLive(StatusCreated, 0)
			c.recordStartFailure(&StartError{ExitCode: 127, Msg: "not found"})
		}, StatusCreated, 0, 127},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			r := &Runtime{root: dir, containers: map[string]*Container{}}
			c := &Container{rt: r, id: "c1", dir: filepath.Join(dir, "c1"), live: liveState{status: StatusExited}}
			if err := os.Mkdir(c.dir, 0o700); err != nil {
				t.Fatal(err)
			}
			tt.steps(c)
			st := c.State(ctx)
			if st.Status != tt.wantStatus || st.Pid != tt.wantPid || st.ExitCode != tt.wantCode {
				t.Fatalf("State = %s pid %d exit %d, want %s pid %d exit %d",
					st.Status, st.Pid, st.ExitCode, tt.wantStatus, tt.wantPid, tt.wantCode)
			}
			if tt.wantStatus == StatusExited && !st.FinishedAt.Equal(finished) {
				t.Errorf("FinishedAt = %v, want %v", st.FinishedAt, finished)
			}
		})
	}
}

// TestStateUnknownAsksShim checks that a run whose state is not known is
// looked up (no shim: not running), as before the runtime adopts it.
func TestStateUnknownAsksShim(t *testing.T) {
	dir := t.TempDir()
	c := &Container{rt: &Runtime{root: dir}, id: "c1", dir: filepath.Join(dir, "c1")}
	if err := os.Mkdir(c.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if st := c.State(context.Background()); st.Status != StatusCreated {
		t.Fatalf("State without a shim = %s, want created", st.Status)
	}
	if c.learnLive(context.Background()) {
		t.Fatal("learnLive without a shim reports a live run")
	}
	if c.live.status != StatusExited {
		t.Fatalf("learnLive without a shim: live status %q, want exited", c.live.status)
	}
}
