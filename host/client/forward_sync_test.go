package client

import (
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestLifecycleSyncsForwards: the verbs that end a container ask the
// machine daemon to sync its forwards after the agent call, so that the
// ports are free when the command returns (docker frees them before it
// answers). rm syncs by the name given, after the container is gone.
func TestLifecycleSyncsForwards(t *testing.T) {
	tests := []struct {
		name        string
		cmd         func(c *cli) *cobra.Command
		args        []string
		call, after string // the agent call, then the sync recorded after it
	}{
		{"rm -f", (*cli).newRmCommand, []string{"-f", "web"}, "remove web force=true volumes=false", "daemon sync web"},
		{"kill", (*cli).newKillCommand, []string{"web"}, "kill web ", "daemon sync web"},
		{"stop", (*cli).newStopCommand, []string{"web"}, `stop web timeout=false signal=""`, "daemon sync web"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, h, _, _ := newEngineCLI(t, "")
			h.ctrs.add(&fakeCtr{name: "web", state: "running", keepRunning: true})
			if msg, code := execCmd(t, tt.cmd(c), tt.args...); code != 0 {
				t.Fatalf("exit %d %q", code, msg)
			}
			h.ctrs.mu.Lock()
			calls := slices.Clone(h.ctrs.calls)
			h.ctrs.mu.Unlock()
			i := slices.Index(calls, tt.call)
			if i < 0 || !slices.Contains(calls[i+1:], tt.after) {
				t.Fatalf("calls %s; want %q, then %q", strings.Join(calls, "; "), tt.call, tt.after)
			}
		})
	}
}
