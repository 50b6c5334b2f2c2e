package qemu

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/host/internal/testbin"
	"github.com/berth-dev/berth/internal/machineproc"
	"github.com/berth-dev/berth/internal/testimage"
	"github.com/berth-dev/berth/vmimage"
)

// cliEnv runs a built berth with its own BERTH_HOME.
type cliEnv struct {
	bin, home string
}

func (e cliEnv) run(t *testing.T, timeout time.Duration, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.bin, args...)
	cmd.Env = append(os.Environ(), "BERTH_HOME="+e.home, "BERTH_MACHINE=")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (e cliEnv) must(t *testing.T, timeout time.Duration, args ...string) string {
	t.Helper()
	out, err := e.run(t, timeout, args...)
	if err != nil {
		t.Fatalf("berth %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// TestCLI: `berth machine init --driver qemu`, start, version answered
// from inside the VM, ls, kill -9 of qemu (the machine stops and starts
// again cleanly), stop. The image is found beside the binary (<bindir>/vm).
func TestCLI(t *testing.T) {
	img := testImageDir(t)
	binDir := t.TempDir()
	bin, err := testbin.Build(binDir, "./cmd/berth")
	if err != nil {
		t.Fatalf("build berth: %v", err)
	}
	// init --image REF fetches through the berth-vmimage beside berth.
	if _, err := testbin.Build(binDir, "./cmd/berth-vmimage"); err != nil {
		t.Fatalf("build berth-vmimage: %v", err)
	}
	e := cliEnv{bin: bin, home: t.TempDir()}
	// No image anywhere yet: init fails clearly and registers nothing.
	out, err := e.run(t, time.Minute, "machine", "init", "--driver", "qemu", "q0")
	if err == nil || !strings.Contains(out, "no berth VM image") || !strings.Contains(out, "berth-vmimage build") {
		t.Errorf("init without an image: err=%v\n%s", err, out)
	}
	out, err = e.run(t, time.Minute, "machine", "init", "--driver", "qemu", "--image", t.TempDir(), "q2")
	if err == nil || !strings.Contains(out, "the machine's --image") {
		t.Errorf("init with an empty --image dir: err=%v\n%s", err, out)
	}
	if ls := e.must(t, time.Minute, "machine", "ls", "-q"); strings.Contains(ls, "q0") || strings.Contains(ls, "q2") {
		t.Errorf("a failed init left the machine registered: %q", ls)
	}
	// --image may name the artifact berth-vmimage build --push wrote: init
	// fetches it into the state dir, verified, and the machine uses it.
	reg := testimage.Registry(t)
	if _, err := vmimage.Push(context.Background(), img, reg+"/berth/vmimage:test"); err != nil {
		t.Fatalf("push the VM image: %v", err)
	}
	e.must(t, time.Minute, "machine", "init", "--driver", "qemu", "--image", reg+"/berth/vmimage:test", "qref")
	if out := e.must(t, time.Minute, "machine", "inspect", "qref"); !strings.Contains(out, filepath.Join(e.home, "vmimages")) {
		t.Errorf("a machine made from an image reference does not use the fetched dir:\n%s", out)
	}
	e.must(t, time.Minute, "machine", "rm", "qref")
	if out, err := e.run(t, time.Minute, "machine", "init", "--driver", "qemu", "--image", reg+"/berth/nothing:here", "qbad"); err == nil ||
		!strings.Contains(out, "fetch VM image") {
		t.Errorf("init with a missing image reference: err=%v\n%s", err, out)
	}
	if err := os.Symlink(img, filepath.Join(binDir, "vm")); err != nil {
		t.Fatal(err)
	}
	mdir := filepath.Join(e.home, "machines", "q1")
	t.Cleanup(func() {
		e.run(t, time.Minute, "machine", "stop", "q1")
		machineproc.Kill(mdir)
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(mdir, "daemon.log"))
			t.Logf("daemon.log:\n%s", b)
		}
	})

	e.must(t, time.Minute, "machine", "init", "--driver", "qemu", "--cpus", "1", "--memory", "1GiB", "--disk", "4GiB", "q1")
	start := time.Now()
	e.must(t, 3*time.Minute, "machine", "start", "q1")
	t.Logf("machine start to agent ready: %v", time.Since(start))

	out = e.must(t, time.Minute, "--machine", "q1", "version")
	host, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	if !strings.Contains(out, "Server: berth") || !strings.Contains(out, "Kernel Version:") ||
		strings.Contains(out, "Kernel Version:   "+strings.TrimSpace(string(host))) {
		t.Errorf("version does not come from the VM's kernel:\n%s", out)
	}
	ls := strings.Join(strings.Fields(e.must(t, time.Minute, "machine", "ls")), " ")
	if !strings.Contains(ls, "q1 qemu Running 1 1GiB ") || !strings.Contains(ls, "/4GiB") {
		t.Errorf("machine ls = %q, want q1 running with 1 CPU, 1GiB and disk use of 4GiB", ls)
	}

	t.Run("KillQEMU", func(t *testing.T) { testKillQEMU(t, e, mdir) })

	e.must(t, 2*time.Minute, "machine", "stop", "q1")
	ls = strings.Join(strings.Fields(e.must(t, time.Minute, "machine", "ls")), " ")
	if !strings.Contains(ls, "q1 qemu Stopped") {
		t.Errorf("machine ls after stop = %q", ls)
	}
	if pid := machineproc.PID(filepath.Join(mdir, "qemu.pid")); pid > 1 {
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("qemu (pid %d) still runs after machine stop", pid)
		}
	}
}

// testKillQEMU: after kill -9 of qemu the machine reads Stopped (not
// booted again), leaves no pid, socket or status file, daemon.log says
// why, commands say it is not running and how to start it, and machine
// start brings it back.
func testKillQEMU(t *testing.T, e cliEnv, mdir string) {
	old := machineproc.PID(filepath.Join(mdir, "qemu.pid"))
	if old <= 1 {
		t.Fatalf("no qemu pid file")
	}
	syscall.Kill(old, syscall.SIGKILL)
	for end := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		ls := strings.Join(strings.Fields(e.must(t, time.Minute, "machine", "ls")), " ")
		if strings.Contains(ls, "q1 qemu Stopped") {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("machine ls after qemu was killed: %q, want Stopped", ls)
		}
	}
	for _, f := range []string{"qemu.pid", "qmp.sock", "agent.sock", "fs0.sock", "daemon.sock", "daemon.json"} {
		if _, err := os.Stat(filepath.Join(mdir, f)); err == nil {
			t.Errorf("%s left behind after qemu was killed", f)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(mdir, "daemon.log")); !strings.Contains(string(b), "the VM stopped unexpectedly") ||
		!strings.Contains(string(b), "signal: killed") {
		t.Errorf("daemon.log does not say why the VM stopped:\n%s", b)
	}
	out, err := e.run(t, time.Minute, "--machine", "q1", "images")
	if err == nil || !strings.Contains(out, `cannot connect to machine "q1": it is stopped`) || !strings.Contains(out, "berth machine start q1") {
		t.Errorf("a command after qemu was killed: err=%v\n%s", err, out)
	}
	if pid := machineproc.PID(filepath.Join(mdir, "qemu.pid")); pid > 1 {
		t.Fatalf("qemu was started again (pid %d)", pid)
	}
	e.must(t, 3*time.Minute, "machine", "start", "q1")
	if out := e.must(t, time.Minute, "--machine", "q1", "version"); !strings.Contains(out, "Server: berth") {
		t.Errorf("version after the machine was started again:\n%s", out)
	}
}
