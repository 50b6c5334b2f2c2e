package e2e

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestMachineShell runs `berth machine shell` on the native driver, where
// the shell runs in the engine's own namespaces on the host.
func TestMachineShell(t *testing.T) {
	requireBerth(t)
	tests := []struct {
		name          string
		stdin         string
		args          []string
		wantOut       string
		wantErrOut    string
		wantCode      int
		wantErrSubstr string // checked instead of wantErrOut when set
	}{
		{name: "exit code and output", args: []string{"--", "sh", "-c", "echo out; echo err >&2; exit 3"},
			wantOut: "out\n", wantErrOut: "err\n", wantCode: 3},
		{name: "machine named", args: []string{"default", "--", "echo", "hi"}, wantOut: "hi\n"},
		{name: "stdin", stdin: "from stdin\n", args: []string{"--", "cat"}, wantOut: "from stdin\n"},
		{name: "env and workdir", args: []string{"-e", "A=b", "-w", "/tmp", "--", "sh", "-c", `echo "$A $(pwd)"`},
			wantOut: "b /tmp\n"},
		{name: "not found", args: []string{"--", "no-such-command-berth"}, wantCode: 127,
			wantErrSubstr: "executable file not found"},
		{name: "two names", args: []string{"a", "b", "--", "true"}, wantCode: 125, wantErrSubstr: "at most one machine name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := berth(t, strings.NewReader(tt.stdin), append([]string{"machine", "shell"}, tt.args...)...)
			if r.code != tt.wantCode || r.stdout != tt.wantOut {
				t.Fatalf("want exit %d and stdout %q, got\n%s", tt.wantCode, tt.wantOut, r)
			}
			errOut := strings.Join(r.errLines(), "\n")
			if tt.wantErrSubstr != "" {
				if !strings.Contains(errOut, tt.wantErrSubstr) {
					t.Errorf("stderr = %q, want it to mention %q", errOut, tt.wantErrSubstr)
				}
				return
			}
			if want := strings.TrimSuffix(tt.wantErrOut, "\n"); errOut != want {
				t.Errorf("stderr = %q, want %q", errOut, want)
			}
		})
	}
}

// TestMachineShellTTY runs `berth machine shell` without a command on a
// pseudo-terminal: a login shell on a terminal of the local size, raw
// mode while it runs, a resize reaches it, its exit code comes back.
func TestMachineShellTTY(t *testing.T) {
	requireBerth(t)
	berthOK(t, "machine", "shell", "--", "true") // start the machine first
	interactiveTTY(t, "the shell", unix.Winsize{Row: 30, Col: 120}, unix.Winsize{Row: 44, Col: 99}, 6, "machine", "shell")
}
