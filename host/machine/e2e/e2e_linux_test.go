package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/host/internal/testbin"
	"github.com/berth-dev/berth/host/internal/testenv"
	"github.com/berth-dev/berth/internal/machineproc"
)

var (
	berthBin  string
	agentNote string
)

func TestMain(m *testing.M) {
	testbin.RunFakeAgent()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "berth-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if berthBin, err = testbin.Build(dir, "./cmd/berth"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if agentNote, err = testbin.Agent(dir); err != nil {
		fmt.Fprintln(os.Stderr, "cannot provide berth-agent:", err)
		return 1
	}
	return m.Run()
}

// result is one berth run.
type result struct {
	out, err string
	code     int
}

// berth runs the CLI with BERTH_HOME=home.
func berth(t *testing.T, home string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, berthBin, args...)
	cmd.Env = append(os.Environ(), "BERTH_HOME="+home, "BERTH_MACHINE=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{out: out.String(), err: errb.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("berth %v: %v", args, err)
	}
	return r
}

// home returns a fresh BERTH_HOME whose machines are stopped at cleanup,
// their daemons and agents killed if they survive.
func home(t *testing.T) string {
	t.Helper()
	testenv.RequiresRoot(t)
	t.Log("using", agentNote)
	h := t.TempDir()
	t.Cleanup(func() {
		dirs, _ := filepath.Glob(filepath.Join(h, "machines", "*"))
		for _, d := range dirs {
			if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
				continue
			}
			name := filepath.Base(d)
			if r := berth(t, h, "machine", "stop", name); r.code != 0 {
				t.Errorf("cleanup: berth machine stop %s: %s", name, r.err)
			}
			for _, pid := range []int{daemonPID(d), pidFile(d, "agent.pid")} {
				if pid > 0 {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
			if t.Failed() {
				b, _ := os.ReadFile(filepath.Join(d, "daemon.log"))
				t.Logf("%s daemon.log:\n%s", name, b)
			}
		}
	})
	return h
}

// daemonPID is the pid in the machine daemon's status file in dir.
func daemonPID(dir string) int { return machineproc.PID(filepath.Join(dir, "daemon.json")) }

// pidFile is the pid in dir/name.
func pidFile(dir, name string) int { return machineproc.PID(filepath.Join(dir, name)) }

// expect checks a run's exit code and that its stdout and stderr contain
// the given strings.
func expect(t *testing.T, r result, code int, stdout, stderr string) {
	t.Helper()
	if r.code != code || !strings.Contains(r.out, stdout) || !strings.Contains(r.err, stderr) {
		t.Fatalf("exit %d, stdout:\n%s\nstderr:\n%s\nwant exit %d, stdout containing %q, stderr containing %q",
			r.code, r.out, r.err, code, stdout, stderr)
	}
}

func fields(s string) string { return strings.Join(strings.Fields(s), " ") }
