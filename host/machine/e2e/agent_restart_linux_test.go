package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestAgentKilledIsRestarted: kill -9 of the agent under a running machine;
// the daemon starts a new agent, the next command is answered, and
// daemon.log says what happened. It runs the real berth and berth-agent
// binaries, as a user's machine does.
func TestAgentKilledIsRestarted(t *testing.T) {
	h := home(t)
	expect(t, berth(t, h, "machine", "start"), 0, "default\n", "")
	dir := filepath.Join(h, "machines", "default")
	old := pidFile(dir, "agent.pid")
	daemon := daemonPID(dir)
	if old <= 0 || daemon <= 0 {
		t.Fatalf("no agent (%d) or daemon (%d) pid recorded", old, daemon)
	}
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// The command that comes while the agent is down waits for the new one.
	expect(t, berth(t, h, "version"), 0, "Server:", "")
	if now := pidFile(dir, "agent.pid"); now == old || now <= 0 {
		t.Errorf("agent pid %d after the restart, killed one was %d", now, old)
	}
	if got := daemonPID(dir); got != daemon {
		t.Errorf("the daemon changed (%d -> %d): it must survive its agent", daemon, got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(dir, "daemon.log"))
		if bytes.Contains(b, []byte("agent died; restarting it")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon.log does not record the restart:\n%s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
