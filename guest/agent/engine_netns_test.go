//go:build linux

package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/berth-dev/berth/guest/internal/testenv"
)

// TestNewNetnsLeavesThreads: creating namespaces leaves every thread of
// the agent in its own network namespace, the main thread included (the
// one /proc/self and so /proc/net/tcp and /proc/self/ns/net name).
func TestNewNetnsLeavesThreads(t *testing.T) {
	testenv.RequiresRoot(t)
	want := nsInode(t, "/proc/self/ns/net")
	dir := t.TempDir()
	for i := range 200 {
		path := filepath.Join(dir, fmt.Sprint(i))
		if err := newNetns(path); err != nil {
			t.Fatalf("newNetns: %v", err)
		}
		if err := removeNetns(path); err != nil {
			t.Fatalf("removeNetns: %v", err)
		}
	}
	tasks, err := filepath.Glob("/proc/self/task/*/ns/net")
	if err != nil || len(tasks) == 0 {
		t.Fatalf("no threads listed: %v", err)
	}
	for _, p := range tasks {
		if got := nsInode(t, p); got != want {
			t.Errorf("%s is in network namespace %d, want the agent's %d", p, got, want)
		}
	}
}

func nsInode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}
