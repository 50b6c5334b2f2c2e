package guestinit

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSuperviseRestarts runs a fake engine that crashes twice, then exits
// cleanly (as after System.Shutdown): init must restart it after each
// crash and report the clean exit, never exiting itself.
func TestSuperviseRestarts(t *testing.T) {
	dir := t.TempDir()
	count := filepath.Join(dir, "runs")
	script := filepath.Join(dir, "engine")
	body := "#!/bin/sh\necho run >> " + count + "\n[ $(wc -l < " + count + ") -ge 3 ] && exit 0\nexit 1\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := &engine{cfg: Config{DataDir: dir, Hostname: "t"}, r: testReaper(), exe: script, exited: make(chan struct{})}
	go e.supervise(ctx)
	select {
	case <-e.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("the clean exit after two crashes was never reported")
	}
	b, _ := os.ReadFile(count)
	if n := strings.Count(string(b), "run"); n != 3 {
		t.Fatalf("engine ran %d times, want 3 (two restarts)", n)
	}
}

// TestSuperviseStops checks that cancelling stops the restarts.
func TestSuperviseStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	e := &engine{cfg: Config{DataDir: t.TempDir()}, r: testReaper(), exe: "/bin/false", exited: make(chan struct{})}
	done := make(chan struct{})
	go func() { e.supervise(ctx); close(done) }()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("supervise kept restarting after cancel")
	}
}

// TestEngineArgs checks that the engine in the VM is told that its exit
// powers the VM off (it stops the containers first) and that it owns the
// data disk (it trims it).
func TestEngineArgs(t *testing.T) {
	e := &engine{cfg: Config{DataDir: "/var/lib/berth", Hostname: "vm1", Port: 1024}}
	args := strings.Join(e.args(), " ")
	for _, want := range []string{"--data-dir /var/lib/berth", "--name vm1", "--stop-containers-on-exit", "--auto-trim"} {
		if !strings.Contains(args, want) {
			t.Errorf("engine args %q lack %q", args, want)
		}
	}
}
