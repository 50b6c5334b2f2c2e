package container

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestNextBackoff(t *testing.T) {
	tests := []struct {
		prev, ran, want time.Duration
	}{
		{0, 0, 100 * time.Millisecond},
		{100 * time.Millisecond, time.Second, 200 * time.Millisecond},
		{400 * time.Millisecond, time.Second, 800 * time.Millisecond},
		{time.Minute, time.Second, time.Minute},
		{time.Second, 11 * time.Second, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := nextBackoff(tt.prev, tt.ran); got != tt.want {
			t.Errorf("nextBackoff(%v, %v) = %v, want %v", tt.prev, tt.ran, got, tt.want)
		}
	}
}

func TestRestartOnFailure(t *testing.T) {
	var mu sync.Mutex
	var events []string
	r := newTestRuntime(t, "", WithEventHandler(func(e Event) {
		mu.Lock()
		events = append(events, e.Type)
		mu.Unlock()
	}))
	ctx := context.Background()
	c := newTestContainer(t, r, []string{"sh", "-c", "echo run; exit 2"}, func(cfg *Config) {
		cfg.Restart = RestartPolicy{Name: "on-failure", MaximumRetryCount: 3}
	})
	if _, err := c.Start(ctx, nil); err != nil {
		t.Fatalf("Start: %v", err)
	}
	sawRestarting := false
	waitFor(t, "3 restarts", func() bool {
		st := c.State(ctx)
		sawRestarting = sawRestarting || st.Status == StatusRestarting
		return st.RestartCount == 3 && st.Status == StatusExited
	})
	time.Sleep(300 * time.Millisecond) // no 4th run may follow
	st := c.State(ctx)
	if st.RestartCount != 3 || st.ExitCode != 2 || st.Status != StatusExited {
		t.Errorf("state = %+v", st)
	}
	if n := strings.Count(logText(t, c), "run\n"); n != 4 {
		t.Errorf("container ran %d times, want 4", n)
	}
	if !sawRestarting {
		t.Errorf("never observed the restarting state during the backoff")
	}
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Count(strings.Join(events, ","), "restart"); got != 3 {
		t.Errorf("events %v: %d restarts, want 3", events, got)
	}
}

func TestRestartAlwaysAfterAgentRestart(t *testing.T) {
	dir := t.TempDir()
	r := newTestRuntime(t, dir)
	ctx := context.Background()
	c := newTestContainer(t, r, []string{"sh", "-c", "echo run; sleep 0.2"}, func(cfg *Config) {
		cfg.Restart = RestartPolicy{Name: "always"}
	})
	if _, err := c.Start(ctx, nil); err != nil {
		t.Fatalf("Start: %v", err)
	}
	r.Close() // the agent goes away; the container exits meanwhile
	waitFor(t, "exit while no agent", func() bool { _, ok := c.exitRecord(); return ok })
	r2 := newTestRuntime(t, dir)
	c2, err := r2.Get(c.ID())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c2.Delete(ctx, true) })
	waitFor(t, "restart by the new agent", func() bool { return strings.Count(logText(t, c2), "run\n") >= 2 })
	if err := c2.Stop(ctx, nil); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	n := strings.Count(logText(t, c2), "run\n")
	time.Sleep(400 * time.Millisecond)
	if m := strings.Count(logText(t, c2), "run\n"); m != n {
		t.Errorf("a stopped always-container was restarted (%d -> %d runs)", n, m)
	}
}

func TestRestartOnBootAfterManualStop(t *testing.T) {
	tests := []struct {
		policy      string
		wantRunning bool
	}{
		{policy: "always", wantRunning: true},
		{policy: "unless-stopped", wantRunning: false},
		{policy: "no", wantRunning: false},
	}
	for _, tt := range tests {
		t.Run(tt.policy, func(t *testing.T) {
			dir := t.TempDir()
			ctx := context.Background()
			r := newTestRuntime(t, dir)
			c := newTestContainer(t, r, []string{"sleep", "1000"}, func(cfg *Config) { cfg.Restart.Name = tt.policy })
			if _, err := c.Start(ctx, nil); err != nil {
				t.Fatalf("Start: %v", err)
			}
			zero := time.Duration(0)
			if err := c.Stop(ctx, &zero); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			r.Close()
			r2 := newTestRuntime(t, dir)
			c2, err := r2.Get(c.ID())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c2.Delete(ctx, true) }) // through the live runtime
			if tt.wantRunning {
				waitFor(t, "restart on boot", func() bool { return c2.State(ctx).Status == StatusRunning })
				return
			}
			time.Sleep(300 * time.Millisecond)
			if st := c2.State(ctx); st.Status != StatusExited {
				t.Errorf("status after agent restart = %s, want exited", st.Status)
			}
		})
	}
}
