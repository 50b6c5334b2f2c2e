// Package testbin builds berth's binaries for host tests that run them as
// processes, and stands in the fake agent when the real one cannot be built.
package testbin

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/berth-dev/berth/host/internal/fakeagent"
)

// AgentName is the file name the native driver looks for.
const AgentName = "berth-agent"

// Build runs `go build -o dir/ pkg` (pkg like "./cmd/berth") in the module
// root and returns the binary's path.
func Build(dir, pkg string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator), pkg)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
	}
	return filepath.Join(dir, filepath.Base(pkg)), nil
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the berth module")
	}
	return filepath.Dir(mod), nil
}

// Agent puts a berth-agent in dir: the real one when it builds, else a copy
// of the running test binary, which must call RunFakeAgent first thing in
// TestMain. The note says which one, and for the fake why, for the test
// log. In CI (CI=true) a real agent that does not build is an error, never
// a fake.
func Agent(dir string) (note string, err error) {
	_, berr := Build(dir, "./cmd/berth-agent")
	if berr == nil {
		return "real berth-agent", nil
	}
	if os.Getenv("CI") == "true" {
		return "", berr
	}
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(berr.Error(), "\n")
	return "FAKE agent (the real one does not build: " + line + ")", copyFile(self, filepath.Join(dir, AgentName))
}

// Runner is what RunWithAgent runs: a *testing.M.
type Runner interface{ Run() int }

// RunWithAgent is the body of a TestMain whose tests start berth-agent from
// PATH: it puts one (see Agent) in a temp dir at the front of PATH, sets
// *note to Agent's note, runs m, then restores PATH and removes the dir. It
// returns the exit code for os.Exit.
func RunWithAgent(m Runner, note *string) int {
	dir, err := os.MkdirTemp("", "berth-test-agent-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if *note, err = Agent(dir); err != nil {
		fmt.Fprintln(os.Stderr, "cannot provide berth-agent:", err)
		return 1
	}
	path := os.Getenv("PATH")
	os.Setenv("PATH", dir+string(os.PathListSeparator)+path)
	defer os.Setenv("PATH", path)
	return m.Run()
}

// RunFakeAgent runs the fake agent and exits when this process was started
// as berth-agent (a copy made by Agent); otherwise it returns.
func RunFakeAgent() {
	if filepath.Base(os.Args[0]) == AgentName {
		os.Exit(fakeagent.Main(os.Args[1:]))
	}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
