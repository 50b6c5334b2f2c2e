// Package e2e runs the berth and berth-agent binaries end to end, as a user
// would, on the native driver (root, Linux). TestMain builds both binaries
// into a temp dir, points BERTH_HOME at a fresh state dir, and stops and
// removes the machine at the end.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// commandTimeout bounds one berth invocation, so that a hang fails the test
// instead of the whole run.
const commandTimeout = 3 * time.Minute

// berthBin is the berth binary under test; empty when the binaries were
// not built (not root), in which case every test skips through testenv.
var berthBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if os.Geteuid() != 0 && os.Getenv("CI") != "true" {
		return m.Run() // the tests skip, saying why
	}
	dir, err := os.MkdirTemp("", "berth-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := build(dir, "./cmd/berth", "./cmd/berth-agent"); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: cannot build the binaries:", err)
		return 1
	}
	berthBin = filepath.Join(dir, "berth")
	home := filepath.Join(dir, "home")
	os.Setenv("BERTH_HOME", home)
	os.Unsetenv("BERTH_MACHINE")
	os.Setenv("DOCKER_CONFIG", filepath.Join(dir, "docker")) // no credentials of the user's
	code := m.Run()
	stopMachine()
	return code
}

// build runs `go build -o dir/ pkgs...` in the module root (two levels up
// from this package's dir, where `go test` runs it).
func build(dir string, pkgs ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", append([]string{"build", "-o", dir + string(filepath.Separator)}, pkgs...)...)
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w\n%s", err, out)
	}
	return nil
}

// stopMachine stops and removes the default machine, if a test started it.
func stopMachine() {
	for _, args := range [][]string{{"machine", "stop"}, {"machine", "rm", "-f"}} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		out, err := exec.CommandContext(ctx, berthBin, args...).CombinedOutput()
		cancel()
		if err != nil {
			fmt.Fprintf(os.Stderr, "e2e: berth %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// result is what one berth invocation did.
type result struct {
	stdout, stderr string
	code           int
}

// lines is stdout split into lines, without the final newline.
func (r result) lines() []string {
	s := strings.TrimSuffix(r.stdout, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// errLines is stderr's non-empty lines, without the machine's start-up
// messages.
func (r result) errLines() []string {
	var out []string
	for _, l := range strings.Split(r.stderr, "\n") {
		if l != "" && !strings.HasPrefix(l, "Starting machine") {
			out = append(out, l)
		}
	}
	return out
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// requireBerth skips when the binaries cannot run here: they need root for
// the native driver (overlayfs, namespaces). In CI (CI=true, always root) it
// fails instead, as host/internal/testenv does; scripts/ cannot import
// host/internal.
func requireBerth(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI cannot skip: the e2e tests need root")
		}
		t.Skip("needs root (native driver: overlayfs, namespaces); run the tests as root")
	}
	if berthBin == "" {
		t.Fatal("berth was not built")
	}
}

// berth runs the berth binary with stdin (may be nil).
func berth(t *testing.T, stdin io.Reader, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, berthBin, args...)
	var out, errOut bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &out, &errOut
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("berth %s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("berth %s: still running after %s\n%s", strings.Join(args, " "), commandTimeout, r)
	}
	return r
}

// berthOK runs berth and fails the test unless it exits 0.
func berthOK(t *testing.T, args ...string) result {
	t.Helper()
	r := berth(t, nil, args...)
	if r.code != 0 {
		t.Fatalf("berth %s:\n%s", strings.Join(args, " "), r)
	}
	return r
}
