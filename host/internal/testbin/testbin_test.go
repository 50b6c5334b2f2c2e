package testbin

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runner records what the tests would have seen.
type runner struct {
	code      int
	agentPath string
}

func (r *runner) Run() int {
	r.agentPath, _ = exec.LookPath(AgentName)
	return r.code
}

// TestRunWithAgent: while the tests run, a berth-agent is first on PATH;
// afterwards PATH is as it was and the agent's dir is gone; the tests'
// exit code is returned and the note names the agent.
func TestRunWithAgent(t *testing.T) {
	path := os.Getenv("PATH")
	r := &runner{code: 3}
	var note string
	if code := RunWithAgent(r, &note); code != 3 {
		t.Fatalf("exit code %d, want the tests' 3", code)
	}
	if r.agentPath == "" || filepath.Base(r.agentPath) != AgentName {
		t.Fatalf("no %s on PATH while the tests ran", AgentName)
	}
	if !strings.Contains(note, "berth-agent") && !strings.Contains(note, "FAKE") {
		t.Errorf("note %q names no agent", note)
	}
	if got := os.Getenv("PATH"); got != path {
		t.Errorf("PATH after = %q, want %q", got, path)
	}
	if _, err := os.Stat(filepath.Dir(r.agentPath)); !os.IsNotExist(err) {
		t.Errorf("agent dir %s left behind: %v", filepath.Dir(r.agentPath), err)
	}
}
