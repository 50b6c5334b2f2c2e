package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

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
	ptm, pts := openPTY(t, 30, 120)
	scr := &screen{}
	go scr.copyFrom(ptm)

	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, berthBin, "machine", "shell")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pts, pts, pts
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	typeIn := func(s string) {
		if _, err := ptm.Write([]byte(s)); err != nil {
			t.Fatalf("type %q: %v", s, err)
		}
	}
	typeIn("test -t 0 && stty size; echo mark-$((40+2))\r")
	scr.waitFor(t, "mark-42")
	if !strings.Contains(scr.String(), "30 120") {
		t.Errorf("the shell did not see a 30x120 terminal:\n%q", scr.String())
	}
	tio, err := unix.IoctlGetTermios(int(pts.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if tio.Lflag&(unix.ICANON|unix.ECHO) != 0 {
		t.Errorf("terminal not in raw mode during the shell: lflag %#x", tio.Lflag)
	}
	if err := unix.IoctlSetWinsize(int(pts.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 44, Col: 99}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; !strings.Contains(scr.String(), "44 99"); i++ {
		if time.Now().After(deadline) {
			t.Fatalf("the resize to 44x99 never reached the shell:\n%q", scr.String())
		}
		typeIn(fmt.Sprintf("stty size; echo again-$((%d+1))\r", i))
		scr.waitFor(t, fmt.Sprintf("again-%d", i+1))
	}
	typeIn("exit 6\r")
	select {
	case err := <-done:
		ee, ok := err.(*exec.ExitError) //nolint:errorlint // Wait returns it unwrapped
		if !ok || ee.ExitCode() != 6 {
			t.Errorf("berth machine shell exit: %v, want exit status 6", err)
		}
	case <-ctx.Done():
		t.Fatalf("berth machine shell did not end after exit 6:\n%q", scr.String())
	}
	tio, err = unix.IoctlGetTermios(int(pts.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if tio.Lflag&unix.ICANON == 0 {
		t.Errorf("terminal left in raw mode after the shell: lflag %#x", tio.Lflag)
	}
}
