package container

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestShutdownRecordsExits: when Shutdown returns, every container it
// stopped has its exit in exit.json (the VM powers off right after; the
// shim answers waiters before it writes that file), with the code its stop
// signal's handler chose.
func TestShutdownRecordsExits(t *testing.T) {
	r := newTestRuntime(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var cs []*Container
	for range 3 {
		c := newTestContainer(t, r, []string{"sh", "-c", `trap "exit 3" TERM; echo ready; while :; do sleep 0.05; done`})
		if _, err := c.Start(ctx, nil); err != nil {
			t.Fatalf("Start: %v", err)
		}
		cs = append(cs, c)
	}
	for _, c := range cs {
		waitFor(t, "trap installed", func() bool { return strings.Contains(logText(t, c), "ready") })
	}
	if err := r.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for _, c := range cs {
		b, err := os.ReadFile(filepath.Join(c.dir, "exit.json"))
		if err != nil {
			t.Fatalf("container %s: no exit record when Shutdown returned: %v", c.id, err)
		}
		var ex ExitStatus
		if err := json.Unmarshal(b, &ex); err != nil || ex.ExitCode != 3 {
			t.Errorf("container %s: exit record %s (%v), want exit code 3", c.id, b, err)
		}
	}
}
