package container

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/guest/internal/testenv"
	"github.com/berth-dev/berth/internal/testwait"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// testLower is a busybox root filesystem shared (read-only, as an overlay
// lower dir) by the tests' containers.
var testLower string

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "shim" {
		os.Exit(RunShim(os.Args[2:]))
	}
	if err := PrepareHost(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if dir := os.Getenv("BERTH_TEST_AGENT"); dir != "" {
		os.Exit(fakeAgent(dir))
	}
	tmp, err := os.MkdirTemp("", "berth-container-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testLower = filepath.Join(tmp, "lower")
	code := m.Run()
	os.RemoveAll(tmp)
	os.Exit(code)
}

// buildLower makes a busybox rootfs with /etc/passwd and /etc/group.
func buildLower(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(testLower, "bin", "busybox")); err == nil {
		return testLower
	}
	bb := testenv.RequiresBinary(t, "busybox")
	for _, d := range []string{"bin", "etc", "tmp", "root", "home/app", "proc", "sys", "dev"} {
		if err := os.MkdirAll(filepath.Join(testLower, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Join(testLower, "tmp"), 0o1777)
	data, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(testLower, "bin", "busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bb, "--list").Output()
	if err != nil {
		t.Fatalf("busybox --list: %v", err)
	}
	for _, name := range strings.Fields(string(out)) {
		if name != "busybox" {
			os.Symlink("busybox", filepath.Join(testLower, "bin", name))
		}
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
		"etc/group":  "root:x:0:\napp:x:1000:\nextra:x:2000:app\nnogroup:x:65534:\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(testLower, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return testLower
}

// newTestRuntime opens a runtime in a temp dir (root and crun needed).
func newTestRuntime(t testing.TB, root string, opts ...Option) *Runtime {
	t.Helper()
	testenv.RequiresRoot(t)
	crun := testenv.RequiresBinary(t, "crun")
	buildLower(t)
	if root == "" {
		root = t.TempDir()
	}
	opts = append([]Option{WithCrun(crun), WithCrunRoot(filepath.Join(root, "crun"))}, opts...)
	r, err := New(context.Background(), filepath.Join(root, "containers"), opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

var idSeq int

// newTestContainer creates a container running cmd on the busybox lower.
func newTestContainer(t testing.TB, r *Runtime, cmd []string, edit ...func(*Config)) *Container {
	t.Helper()
	idSeq++
	cfg := Config{
		ID:     fmt.Sprintf("t%d-%d", os.Getpid(), idSeq),
		Image:  imageConfig(),
		Lowers: []string{testLower},
		Create: CreateConfig{Cmd: cmd, Network: NetworkConfig{Mode: NetworkNone}},
	}
	for _, e := range edit {
		e(&cfg)
	}
	c, err := r.Create(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Delete(context.Background(), true); err != nil {
			t.Errorf("Delete: %v", err)
		}
	})
	return c
}

func imageConfig() ocispec.ImageConfig {
	return ocispec.ImageConfig{Env: []string{"PATH=/bin"}, WorkingDir: "/"}
}

// runAttached starts c attached to stdout and stderr and returns both
// outputs and the exit code.
func runAttached(t testing.TB, c *Container) (string, string, int) {
	t.Helper()
	ctx := context.Background()
	s, err := c.Start(ctx, &AttachOptions{Stdout: true, Stderr: true})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	readAll := func(r io.Reader) chan string {
		ch := make(chan string, 1)
		go func() {
			if r == nil {
				ch <- ""
				return
			}
			b, _ := io.ReadAll(r)
			ch <- string(b)
		}()
		return ch
	}
	var errR io.Reader
	if s.Stderr != nil {
		errR = s.Stderr
	}
	outc, errc := readAll(s.Stdout), readAll(errR)
	ex, err := c.Wait(ctx)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	stdout, stderr := <-outc, <-errc
	s.Close()
	return stdout, stderr, ex.ExitCode
}

// waitFor polls cond with the project's generous deadline (testwait.For).
var waitFor = testwait.For
