//go:build linux

package dockerinit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testpty"
)

// The test binary doubles as the init: run with envInit set, it is Main.
const envInit = "BERTH_TEST_DOCKERINIT"

func TestMain(m *testing.M) {
	if os.Getenv(envInit) == "1" {
		os.Exit(Main(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// hang bounds a test that would otherwise hang; it is not a timing
// assertion: the work takes milliseconds.
const hang = 30 * time.Second

func initCommand(ctx context.Context, t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), envInit+"=1")
	return cmd
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	if err == nil {
		return 0
	}
	if !errors.As(err, &ee) {
		t.Fatalf("run init: %v", err)
	}
	return ee.ExitCode()
}

func TestExitStatus(t *testing.T) {
	noexec := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(noexec, []byte("not a program\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"success", []string{"--", "sh", "-c", "echo hi"}, 0, "hi\n", ""},
		{"exit code", []string{"--", "sh", "-c", "exit 7"}, 7, "", ""},
		{"without --", []string{"sh", "-c", "exit 3"}, 3, "", ""},
		{"killed by a signal", []string{"--", "sh", "-c", "kill -KILL $$"}, 128 + 9, "", ""},
		{"terminated by itself", []string{"--", "sh", "-c", "kill -TERM $$"}, 128 + 15, "", ""},
		{"args pass through", []string{"--", "sh", "-c", "echo \"$@\"", "x", "--", "-a"}, 0, "-- -a\n", ""},
		{"not found", []string{"--", "no-such-command-here"}, 127, "", "exec no-such-command-here failed"},
		{"not executable", []string{"--", noexec}, 126, "", "exec " + noexec + " failed"},
		{"no command", []string{"--"}, 2, "", "no command given"},
		{"unknown option", []string{"-x", "sh"}, 2, "", "unknown option"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), hang)
			defer cancel()
			cmd := initCommand(ctx, t, tc.args...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if code := exitCode(t, err); code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.code, stderr.String())
			}
			if string(out) != tc.stdout {
				t.Errorf("stdout %q, want %q", out, tc.stdout)
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr %q, want it to contain %q", stderr.String(), tc.stderr)
			}
		})
	}
}

// TestSignalsReachTheGroup: a signal to the init reaches the command's
// whole process group: the sleep of a shell that traps TERM ends at once
// (the shell alone would wait for it), and the shell's trap runs.
func TestSignalsReachTheGroup(t *testing.T) {
	// "ready PGID" is printed once the sleep runs (its comm is sleep).
	const bgSleep = `sleep 100 & p=$!; until [ "$(cat /proc/$p/comm)" = sleep ]; do :; done; echo ready $$; `
	tests := []struct {
		name, script string
		sig          syscall.Signal
		code         int
		out          string
	}{
		{"sleep of a trapping shell", `trap 'echo got' TERM; ` + bgSleep + `wait $p; wait $p; echo after $?`, syscall.SIGTERM, 0, "got\nafter 143\n"},
		{"plain sleep", `echo ready $$; exec sleep 100`, syscall.SIGTERM, 128 + 15, ""},
		{"SIGINT", `echo ready $$; exec sleep 100`, syscall.SIGINT, 128 + 2, ""},
		{"SIGUSR1 to a trap", `trap 'echo usr1; exit 4' USR1; echo ready $$; while :; do sleep 0.01; done`, syscall.SIGUSR1, 4, "usr1\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out := signalInit(t, tc.script, tc.sig)
			if code != tc.code || out != tc.out {
				t.Errorf("exit %d output %q, want %d %q", code, out, tc.code, tc.out)
			}
		})
	}
}

// signalInit runs script under the init, sends it sig once the script
// says "ready PGID", and returns the init's exit code and the output after
// that line. Whatever is left of the group is killed at the end.
func signalInit(t *testing.T, script string, sig syscall.Signal) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	cmd := initCommand(ctx, t, "--", "sh", "-c", script)
	cmd.Stdout = pw
	err = cmd.Start()
	pw.Close()
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(pr)
	line, err := r.ReadString('\n')
	var pgid int
	if _, serr := fmt.Sscanf(line, "ready %d\n", &pgid); serr != nil {
		t.Fatalf("first line %q (%v), want ready PGID", line, err)
	}
	defer syscall.Kill(-pgid, syscall.SIGKILL) //nolint:errcheck // normally gone already
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	code := exitCode(t, cmd.Wait())
	if ctx.Err() != nil {
		t.Fatalf("the init did not end after %v (signal not forwarded?)", sig)
	}
	_ = pr.SetReadDeadline(time.Now().Add(hang))
	rest, _ := io.ReadAll(r)
	return code, string(rest)
}

// TestReapsOrphans: a process orphaned by the command is reparented to the
// init (a subreaper when not PID 1) and reaped when it exits: no zombie.
func TestReapsOrphans(t *testing.T) {
	script := `(sleep 1 & echo $! > "$1")
	p=$(cat "$1"); i=0
	ppid=$(cut -d' ' -f4 /proc/$p/stat)
	if [ "$ppid" != "$PPID" ]; then echo "orphan's parent is $ppid, not the init $PPID"; exit 1; fi
	while [ -e /proc/$p ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done
	if [ -e /proc/$p ]; then echo "left: $(cat /proc/$p/stat)"; exit 1; fi
	echo reaped`
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	pidFile := t.TempDir() + "/pid"
	out, err := initCommand(ctx, t, "--", "sh", "-c", script, "sh", pidFile).CombinedOutput()
	if code := exitCode(t, err); code != 0 || string(out) != "reaped\n" {
		t.Errorf("exit %d output %q, want the orphan reaped", code, out)
	}
}

func TestIsInvocation(t *testing.T) {
	for argv0, want := range map[string]bool{
		"/sbin/docker-init": true, "docker-init": true, "/init": false, "berth-agent": false, "/sbin/docker-init2": false,
	} {
		if got := IsInvocation(argv0); got != want {
			t.Errorf("IsInvocation(%q) = %v, want %v", argv0, got, want)
		}
	}
}

// TestTerminalForeground: with a controlling terminal on stdin the command
// runs in the terminal's foreground process group (so ^C, typed, reaches
// it); with a terminal that is not the controlling one it still runs.
func TestTerminalForeground(t *testing.T) {
	script := `awk '{ print ($5 == $8) ? "foreground" : "background" }' /proc/self/stat`
	tests := []struct {
		name string
		ctty bool
		want string
	}{
		{"controlling terminal", true, "foreground\n"},
		{"not the controlling terminal", false, "background\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, pts := testpty.Open(t)
			ctx, cancel := context.WithTimeout(context.Background(), hang)
			defer cancel()
			cmd := initCommand(ctx, t, "--", "sh", "-c", script)
			cmd.Stdin = pts
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: tc.ctty, Ctty: 0}
			out, err := cmd.Output()
			if code := exitCode(t, err); code != 0 || string(out) != tc.want {
				t.Errorf("exit %d output %q, want 0 %q", code, out, tc.want)
			}
		})
	}
}
