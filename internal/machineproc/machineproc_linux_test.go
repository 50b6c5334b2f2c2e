package machineproc

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func TestPID(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content string
		want          int
	}{
		{"pid file", "1234\n", 1234},
		{"daemon status", `{"pid": 4321, "socket": "/x"}`, 4321},
		{"status capitalised", `{"PID": 77}`, 77},
		{"status without pid", `{"socket": "/x"}`, 0},
		{"garbage", "not a pid", 0},
		{"negative", "-5", 0},
		{"empty", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, "f")
			if err := os.WriteFile(p, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			if got := PID(p); got != tc.want {
				t.Errorf("PID(%q) = %d, want %d", tc.content, got, tc.want)
			}
		})
	}
	if got := PID(filepath.Join(dir, "missing")); got != 0 {
		t.Errorf("PID(missing) = %d, want 0", got)
	}
}

// TestKill: a process named by a machine dir's pid file runs until Kill,
// which kills it; then neither Running nor Alive sees it, and a zombie
// does not count as alive.
func TestKill(t *testing.T) {
	cmd := exec.Command("sleep", "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	pid := cmd.Process.Pid
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "qemu.pid"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	if !Alive(pid) {
		t.Fatalf("sleep %d not alive", pid)
	}
	if r := Running(dir); len(r) != 1 || r["qemu.pid"] != pid {
		t.Fatalf("Running = %v, want qemu.pid: %d", r, pid)
	}
	if k := Kill(dir); len(k) != 1 || k[0] != pid {
		t.Fatalf("Kill = %v, want [%d]", k, pid)
	}
	// Not waited for yet, the killed process stays a zombie: not alive.
	for deadline := time.Now().Add(time.Minute); Alive(pid); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("pid %d (a zombie, not waited for) still alive a minute after Kill", pid)
		}
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err != nil {
		t.Fatalf("zombie %d already gone: %v", pid, err)
	}
	if r := Running(dir); len(r) != 0 {
		t.Errorf("Running after Kill = %v", r)
	}
}
