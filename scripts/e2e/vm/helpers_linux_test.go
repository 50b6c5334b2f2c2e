package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berth-dev/berth/internal/machineproc"
	"github.com/berth-dev/berth/internal/testimage"
)

// commandTimeout bounds one berth command that does not boot a VM;
// bootTimeout one that does (TCG on a loaded CI machine is slow).
const (
	commandTimeout = 2 * time.Minute
	bootTimeout    = 4 * time.Minute
)

// requireVM skips unless a VM can be booted here, and returns the VM
// image dir.
func requireVM(t *testing.T) string {
	t.Helper()
	bin := map[string]string{"amd64": "qemu-system-x86_64", "arm64": "qemu-system-aarch64"}[runtime.GOARCH]
	if bin == "" {
		t.Skipf("the qemu driver does not run %s guests", runtime.GOARCH)
	}
	if _, err := exec.LookPath(bin); err != nil {
		t.Skipf("%s not installed (apt-get install qemu-system-x86 / qemu-system-arm): no VM can be booted", bin)
	}
	dir := os.Getenv("BERTH_TEST_VMIMAGE")
	if dir == "" {
		t.Skipf("BERTH_TEST_VMIMAGE not set: build a VM image with make build && go run ./cmd/berth-vmimage build --arch %s --agent bin/berth-agent --out DIR and set it to DIR", runtime.GOARCH)
	}
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err != nil {
		t.Fatalf("BERTH_TEST_VMIMAGE=%s is not a VM image: %v", dir, err)
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skipf("needs /bin/busybox for the container image (apt-get install busybox-static): %v", err)
	}
	return dir
}

// binDir holds the berth binary; TestMain removes it.
var binDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// buildBerth builds the berth binary once for the package's tests.
var buildBerth = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "berth-vm-bin-")
	if err != nil {
		return "", err
	}
	binDir = dir
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", dir+"/", "./cmd/berth")
	cmd.Dir = filepath.Join("..", "..", "..") // the module root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/berth: %w\n%s", err, out)
	}
	return filepath.Join(dir, "berth"), nil
})

// env runs berth with its own BERTH_HOME and machine.
type env struct {
	bin, home, machine string
}

// newEnv builds berth and makes a fresh BERTH_HOME whose machine's
// daemon and qemu are stopped at cleanup, killed if they survive, with
// the daemon log quoted when the test failed.
func newEnv(t *testing.T, machine string) *env {
	t.Helper()
	bin, err := buildBerth()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{bin: bin, home: t.TempDir(), machine: machine}
	t.Cleanup(func() {
		e.run(t, commandTimeout, "machine", "stop", machine)
		machineproc.Kill(e.dir())
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(e.dir(), "daemon.log"))
			t.Logf("daemon.log:\n%s", b)
			b, _ = os.ReadFile(filepath.Join(e.dir(), "console.log"))
			t.Logf("console.log (last boot):\n%s", b)
		}
	})
	return e
}

// dir is the machine's state dir.
func (e *env) dir() string { return filepath.Join(e.home, "machines", e.machine) }

// result is one berth run.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// run runs berth; a command still running after timeout fails the test.
func (e *env) run(t *testing.T, timeout time.Duration, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.bin, args...)
	cmd.Env = append(os.Environ(), "BERTH_HOME="+e.home, "BERTH_MACHINE="+e.machine)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("berth %s: still running after %s\n%s", strings.Join(args, " "), timeout, r)
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("berth %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// ok runs berth and fails the test unless it exits 0.
func (e *env) ok(t *testing.T, args ...string) result {
	t.Helper()
	r := e.run(t, commandTimeout, args...)
	if r.code != 0 {
		t.Fatalf("berth %s:\n%s", strings.Join(args, " "), r)
	}
	return r
}

// lsRow is the machine's row of `berth machine ls`, fields joined by one
// space.
func (e *env) lsRow(t *testing.T) string {
	t.Helper()
	for _, l := range strings.Split(e.ok(t, "machine", "ls").stdout, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == e.machine {
			return strings.Join(f, " ")
		}
	}
	t.Fatalf("machine %s not in machine ls", e.machine)
	return ""
}

// indexHTML is what the image's httpd serves.
const indexHTML = "hello from the VM\n"

// imageTar writes a docker-archive tarball of a one-layer busybox image
// tagged ref: /bin/busybox, /bin/sh, /www/index.html, /tmp; created now.
func imageTar(t *testing.T, ref string) string {
	t.Helper()
	img := testimage.BusyboxImage(t, func(cf *v1.ConfigFile) {
		cf.Created = v1.Time{Time: time.Now().UTC().Truncate(time.Second)}
	}, testimage.File{Name: "www/"}, testimage.File{Name: "www/index.html", Data: []byte(indexHTML)})
	return testimage.WriteArchive(t, ref, img)
}

// freePort returns a TCP port free on 127.0.0.1 a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// get fetches url, retrying for up to wait while the server starts (and,
// for forward-all, while the daemon's poll finds its port).
func get(url string, wait time.Duration) (string, error) {
	client := &http.Client{Timeout: 30 * time.Second}
	for end := time.Now().Add(wait); ; {
		resp, err := client.Get(url)
		if err == nil {
			b, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if rerr == nil && resp.StatusCode == http.StatusOK {
				return string(b), nil
			}
			err = fmt.Errorf("status %s, read %v", resp.Status, rerr)
		}
		if time.Now().After(end) {
			return "", fmt.Errorf("GET %s: %w", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkGet fetches url (see get) and fails the test unless it serves
// indexHTML, logging container's state and output when it does not.
func (e *env) checkGet(t *testing.T, url, container string) {
	t.Helper()
	got, err := get(url, time.Minute)
	if err == nil && got == indexHTML {
		return
	}
	t.Errorf("%s = %q, %v; want %q", url, got, err, indexHTML)
	t.Logf("ps -a:\n%s", e.run(t, commandTimeout, "ps", "-a").stdout)
	t.Logf("logs %s:\n%s", container, e.run(t, commandTimeout, "logs", container))
	t.Logf("inspect %s:\n%s", container, e.run(t, commandTimeout, "inspect", "--format", "{{json .State}} {{json .HostConfig.NetworkMode}}", container))
}

// waitClosed waits until nothing accepts on addr any more.
func waitClosed(t *testing.T, addr string, wait time.Duration) {
	t.Helper()
	for end := time.Now().Add(wait); ; {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return
		}
		c.Close()
		if time.Now().After(end) {
			t.Fatalf("%s still accepts connections %s after its container was removed", addr, wait)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
