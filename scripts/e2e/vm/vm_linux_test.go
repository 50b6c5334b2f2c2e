package vm

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/machineproc"
)

// TestVM is the end-to-end test of a qemu machine: init (2 CPUs, 1GiB,
// a 4GiB disk, --forward-all), start, machine ls, load an image, run a
// command, publish httpd on 127.0.0.1 with -p, bind-mount a host folder
// of the default /tmp share, a named volume, a --network host httpd
// reached through --forward-all, cgroup v2 limits, stats, pause and OOM
// (testVMCgroups); then stop and start the machine and find
// the image, the volume's data and the restarted web container with its
// forward; then kill -9 qemu: the machine shows as stopped, commands say
// so, and machine start starts it again with the data disk intact. Boot
// and run times are logged.
func TestVM(t *testing.T) {
	img := requireVM(t)
	e := newEnv(t, "vm")
	e.ok(t, "machine", "init", "--driver", "qemu", "--image", img, "--cpus", "2", "--memory", "1GiB", "--disk", "4GiB", "--forward-all", "vm")
	e.start(t, "first boot")
	row := e.lsRow(t)
	if !strings.HasPrefix(row, "vm qemu Running 2 1GiB ") || !strings.HasSuffix(row, "/4GiB") {
		t.Errorf("machine ls row = %q, want vm, qemu, Running, 2 CPUs, 1GiB and the disk use of 4GiB", row)
	}
	ref := "berth.test/vm/busybox:1"
	if r := e.ok(t, "load", "-i", imageTar(t, ref)); !strings.Contains(r.stdout, "Loaded image: "+ref) {
		t.Fatalf("load:\n%s", r)
	}
	steps := []struct {
		name string
		fn   func(*testing.T, *env, string)
	}{
		{"run", testVMRun},
		{"publish", testVMPublish},
		{"bind mount", testVMBind},
		{"named volume", testVMVolume},
		{"forward-all", testVMForwardAll},
		{"cgroup v2", testVMCgroups},
		{"stop and start", testVMRestart},
		{"kill -9 qemu", testVMKillQEMU},
	}
	for _, s := range steps {
		if !t.Run(s.name, func(t *testing.T) { s.fn(t, e, ref) }) && s.name == "run" {
			return // nothing else can work
		}
	}
	e.ok(t, "machine", "stop")
	if row := e.lsRow(t); !strings.HasPrefix(row, "vm qemu Stopped ") {
		t.Errorf("machine ls after stop: %q", row)
	}
}

// start runs `berth machine start` and logs how long the boot took.
func (e *env) start(t *testing.T, what string) {
	t.Helper()
	begin := time.Now()
	if r := e.run(t, bootTimeout, "machine", "start"); r.code != 0 {
		t.Fatalf("machine start:\n%s", r)
	}
	t.Logf("%s: machine start until the agent answers: %v", what, time.Since(begin).Round(time.Millisecond))
}

func testVMRun(t *testing.T, e *env, ref string) {
	begin := time.Now()
	r := e.ok(t, "run", "--rm", ref, "sh", "-c", "echo hello from a container; busybox uname -r")
	t.Logf("run --rm through the VM: %v", time.Since(begin).Round(time.Millisecond))
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	host, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	if len(lines) != 2 || lines[0] != "hello from a container" || lines[1] == strings.TrimSpace(string(host)) {
		t.Errorf("want the greeting and the VM's kernel (not the host's %s):\n%s", host, r)
	}
	if r := e.run(t, commandTimeout, "run", "--rm", ref, "sh", "-c", "exit 3"); r.code != 3 {
		t.Errorf("exit code: want 3\n%s", r)
	}
}

func testVMPublish(t *testing.T, e *env, ref string) {
	port := freePort(t)
	e.ok(t, "run", "-d", "--name", "web", "--restart", "unless-stopped", "--stop-timeout", "1",
		"-p", fmt.Sprintf("127.0.0.1:%d:80", port), ref, "busybox", "httpd", "-f", "-p", "80", "-h", "/www")
	e.checkGet(t, fmt.Sprintf("http://127.0.0.1:%d/index.html", port), "web")
	want := fmt.Sprintf("80/tcp -> 127.0.0.1:%d\n", port)
	if r := e.ok(t, "port", "web"); r.stdout != want {
		t.Errorf("port web = %q, want %q", r.stdout, want)
	}
}

func testVMBind(t *testing.T, e *env, ref string) {
	// /tmp is one of the qemu driver's default shares on Linux.
	dir, err := os.MkdirTemp("/tmp", "berth-vm-share-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "greeting"), []byte("written on the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := e.ok(t, "run", "--rm", "-v", dir+":/data", ref, "sh", "-c", "busybox cat /data/greeting; echo written in the VM > /data/reply")
	if r.stdout != "written on the host\n" {
		t.Errorf("the container read %q from the host folder", r.stdout)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "reply")); err != nil || string(b) != "written in the VM\n" {
		t.Errorf("the host reads %q, %v from the container's write", b, err)
	}
}

func testVMVolume(t *testing.T, e *env, ref string) {
	e.ok(t, "run", "--rm", "-v", "vmdata:/v", ref, "sh", "-c", "echo kept > /v/f")
	if r := e.ok(t, "run", "--rm", "-v", "vmdata:/v:ro", ref, "busybox", "cat", "/v/f"); r.stdout != "kept\n" {
		t.Errorf("a second container reads %q from the volume", r.stdout)
	}
}

// testVMForwardAll: a --network host httpd listening on a port in the VM
// is reachable on the same port of the host's 127.0.0.1 (the daemon
// polls the agent's listening ports while it runs), and no longer once
// the container is gone.
func testVMForwardAll(t *testing.T, e *env, ref string) {
	port := freePort(t)
	e.ok(t, "run", "-d", "--name", "hostweb", "--network", "host", ref,
		"busybox", "httpd", "-f", "-p", fmt.Sprint(port), "-h", "/www")
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	e.checkGet(t, "http://"+addr+"/index.html", "hostweb")
	e.ok(t, "rm", "-f", "hostweb")
	waitClosed(t, addr, time.Minute)
}

// testVMRestart: after stop and start, the image, the volume's data and
// the unless-stopped web container with its forward are back.
func testVMRestart(t *testing.T, e *env, ref string) {
	port := strings.TrimSpace(strings.TrimPrefix(e.ok(t, "port", "web", "80").stdout, "127.0.0.1:"))
	qemu := machineproc.PID(filepath.Join(e.dir(), "qemu.pid"))
	begin := time.Now()
	e.ok(t, "machine", "stop")
	t.Logf("machine stop: %v", time.Since(begin).Round(time.Millisecond))
	if row := e.lsRow(t); !strings.HasPrefix(row, "vm qemu Stopped 2 1GiB ") {
		t.Errorf("machine ls after stop: %q", row)
	}
	if qemu <= 1 || machineproc.Alive(qemu) {
		t.Errorf("qemu (pid %d) runs after machine stop", qemu)
	}
	waitClosed(t, "127.0.0.1:"+port, 5*time.Second)
	e.start(t, "second boot")
	checkData(t, e, ref)
	if r := e.ok(t, "ps", "--filter", "name=web", "--format", "{{.Names}} {{.State}}"); r.stdout != "web running\n" {
		t.Errorf("the unless-stopped container after the restart: %q", r.stdout)
	}
	e.checkGet(t, "http://127.0.0.1:"+port+"/index.html", "web")
}

// checkData finds the loaded image and the volume's data.
func checkData(t *testing.T, e *env, ref string) {
	t.Helper()
	if r := e.ok(t, "images", "--format", "{{.Repository}}:{{.Tag}}"); !strings.Contains(r.stdout, ref+"\n") {
		t.Errorf("image %s is gone:\n%s", ref, r)
	}
	if r := e.ok(t, "run", "--rm", "-v", "vmdata:/v", ref, "busybox", "cat", "/v/f"); r.stdout != "kept\n" {
		t.Errorf("the volume holds %q", r.stdout)
	}
}

// testVMKillQEMU: after kill -9 of qemu the machine shows as stopped (its
// daemon does not boot it again, leaves no pid or socket behind and says
// why in its log), commands say it is not running and how to start it,
// machine start starts it cleanly, and what the guest had synced to its
// data disk is there.
func testVMKillQEMU(t *testing.T, e *env, ref string) {
	e.ok(t, "run", "--rm", "-v", "vmdata:/v", ref, "sh", "-c", "echo synced > /v/g && busybox sync")
	old := machineproc.PID(filepath.Join(e.dir(), "qemu.pid"))
	if old <= 1 {
		t.Fatal("no qemu pid file")
	}
	begin := time.Now()
	syscall.Kill(old, syscall.SIGKILL)
	for end := time.Now().Add(bootTimeout); !strings.HasPrefix(e.lsRow(t), "vm qemu Stopped "); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("machine ls %s after qemu was killed: %q, want Stopped", bootTimeout, e.lsRow(t))
		}
	}
	t.Logf("kill -9 of qemu until the machine shows as stopped: %v", time.Since(begin).Round(time.Millisecond))
	for _, f := range []string{"qemu.pid", "qmp.sock", "agent.sock", "fs0.sock", "daemon.sock", "daemon.json"} {
		if _, err := os.Stat(filepath.Join(e.dir(), f)); err == nil {
			t.Errorf("%s left behind after qemu was killed", f)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(e.dir(), "daemon.log")); !strings.Contains(string(b), "the VM stopped unexpectedly") {
		t.Errorf("daemon.log does not say why the VM stopped:\n%s", b)
	}
	r := e.run(t, commandTimeout, "ps")
	if r.code == 0 || !strings.Contains(r.stderr, `cannot connect to machine "vm": it is stopped`) ||
		!strings.Contains(r.stderr, "signal: killed") || !strings.Contains(r.stderr, "berth machine start vm") {
		t.Errorf("ps after qemu was killed: want the machine not running, why, and how to start it\n%s", r)
	}
	if pid := machineproc.PID(filepath.Join(e.dir(), "qemu.pid")); pid > 1 {
		t.Fatalf("qemu was started again (pid %d)", pid)
	}
	e.start(t, "after kill -9 of qemu")
	if row := e.lsRow(t); !strings.HasPrefix(row, "vm qemu Running ") {
		t.Errorf("machine ls after machine start: %q", row)
	}
	checkData(t, e, ref)
	if r := e.ok(t, "run", "--rm", "-v", "vmdata:/v", ref, "busybox", "cat", "/v/g"); r.stdout != "synced\n" {
		t.Errorf("the volume holds %q in the file synced before the kill", r.stdout)
	}
}
