package e2e

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/ttrpc"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/berth-dev/berth/internal/testimage"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
	"github.com/berth-dev/berth/proto/stream"
)

// vmImage returns BERTH_TEST_VMIMAGE, skipping (with the reason) when it
// is unset or qemu is missing.
func vmImage(t *testing.T) string {
	t.Helper()
	bin := map[string]string{"amd64": "qemu-system-x86_64", "arm64": "qemu-system-aarch64"}[runtime.GOARCH]
	if _, err := exec.LookPath(bin); err != nil || bin == "" {
		t.Skipf("%s not installed (apt-get install qemu-system-x86): no qemu machine can boot", bin)
	}
	dir := os.Getenv("BERTH_TEST_VMIMAGE")
	if dir == "" {
		t.Skipf("BERTH_TEST_VMIMAGE not set: build an image with go run ./cmd/berth-vmimage build --arch %s --out DIR and set it to DIR", runtime.GOARCH)
	}
	return dir
}

// system returns a System client through the machine daemon's socket.
func system(t *testing.T, h, machine string) agentv1.TTRPCSystemClient {
	t.Helper()
	c, err := net.Dial("unix", filepath.Join(h, "machines", machine, "daemon.sock"))
	if err != nil {
		t.Fatalf("dial the machine daemon: %v", err)
	}
	if err := stream.Write(c, stream.Header{Kind: stream.KindTTRPC}); err != nil {
		c.Close()
		t.Fatal(err)
	}
	cl := ttrpc.NewClient(c)
	t.Cleanup(func() { cl.Close() })
	return agentv1.NewTTRPCSystemClient(cl)
}

// vmTime is the VM's clock as System.Info reports it.
func vmTime(t *testing.T, sys agentv1.TTRPCSystemClient) time.Time {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	info, err := sys.Info(ctx, &emptypb.Empty{})
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	return info.GetSystemTime().AsTime()
}

// TestQEMUMachine boots one qemu machine and checks the VM duties of the
// agent and the machine daemon: the clock sync, the trim that gives a
// deleted image's space back to the host's disk file, and the graceful
// stop of containers when the machine stops.
func TestQEMUMachine(t *testing.T) {
	img := vmImage(t)
	var h string
	t.Cleanup(func() { // after home's cleanup has stopped the machine
		if pid := pidFile(filepath.Join(h, "machines", "vm"), "qemu.pid"); pid > 1 && syscall.Kill(pid, 0) == nil {
			t.Errorf("qemu (pid %d) survived machine stop; killing it", pid)
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	h = home(t)
	expect(t, berth(t, h, "machine", "init", "--driver", "qemu", "--image", img,
		"--cpus", "2", "--memory", "1GiB", "--disk", "8GiB", "vm"), 0, "", "")
	expect(t, berth(t, h, "machine", "start", "vm"), 0, "", "")
	t.Run("Clock", func(t *testing.T) { testClock(t, h) })
	t.Run("Trim", func(t *testing.T) { testTrim(t, h) })
	t.Run("StopContainers", func(t *testing.T) { testStopContainers(t, h) })
}

// testClock sets the VM clock an hour back through System.SetTime and
// waits for the daemon's periodic push to bring it back.
func testClock(t *testing.T, h string) {
	sys := system(t, h, "vm")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := sys.SetTime(ctx, &agentv1.SetTimeRequest{Time: timestamppb.New(time.Now().Add(-time.Hour))})
	if err != nil {
		t.Fatalf("SetTime: %v", err)
	}
	if !resp.Stepped || time.Duration(resp.OffsetNanos) < 50*time.Minute {
		t.Fatalf("SetTime(now-1h): stepped %v, offset %s; want stepped by about an hour", resp.Stepped, time.Duration(resp.OffsetNanos))
	}
	if off := time.Since(vmTime(t, sys)); off < 50*time.Minute {
		t.Fatalf("VM clock only %s behind after SetTime(now-1h)", off)
	}
	// The daemon pushes every minute: allow three rounds.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		off := time.Since(vmTime(t, sys))
		if off.Abs() < 5*time.Second {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the machine daemon did not bring the VM clock back: still %s off", off)
		}
		time.Sleep(2 * time.Second)
	}
}

// allocated is the space the machine's disk file takes on the host.
func allocated(t *testing.T, h string) int64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(h, "machines", "vm", "disk.img"), &st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks * 512
}

// testTrim loads an image of incompressible data, removes it, trims, and
// checks that the disk file on the host gave most of that space back.
func testTrim(t *testing.T, h string) {
	const size = 48 << 20
	layer, err := random.Layer(size, "application/vnd.docker.image.rootfs.diff.tar.gzip")
	if err != nil {
		t.Fatal(err)
	}
	tarPath := testimage.WriteArchive(t, "berth-test/big:1", testimage.Image(t, nil, nil, layer))
	expect(t, berth(t, h, "--machine", "vm", "load", "-i", tarPath), 0, "Loaded image", "")
	sys := system(t, h, "vm")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := sys.Trim(ctx, &emptypb.Empty{}); err != nil {
		t.Fatalf("Trim: %v", err)
	}
	before := allocated(t, h)
	expect(t, berth(t, h, "--machine", "vm", "rmi", "berth-test/big:1"), 0, "Deleted", "")
	resp, err := sys.Trim(ctx, &emptypb.Empty{})
	if err != nil {
		t.Fatalf("Trim: %v", err)
	}
	after := allocated(t, h)
	t.Logf("disk file %d MiB -> %d MiB allocated after rmi of a %d MiB image; Trim reported %d MiB",
		before>>20, after>>20, size>>20, resp.TrimmedBytes>>20)
	if before-after < size*2/3 {
		t.Errorf("disk file shrank by %d MiB after rmi and Trim, want at least %d MiB", (before-after)>>20, size*2/3>>20)
	}

	// Again without calling Trim: the agent trims on its own some time
	// (30 s) after the last deletion.
	expect(t, berth(t, h, "--machine", "vm", "load", "-i", tarPath), 0, "Loaded image", "")
	ctx2, cancel2 := context.WithTimeout(context.Background(), time.Minute)
	defer cancel2()
	if _, err := sys.Trim(ctx2, &emptypb.Empty{}); err != nil {
		t.Fatalf("Trim: %v", err)
	}
	before = allocated(t, h)
	expect(t, berth(t, h, "--machine", "vm", "rmi", "berth-test/big:1"), 0, "Deleted", "")
	deadline := time.Now().Add(3 * time.Minute)
	for before-allocated(t, h) < size*2/3 {
		if time.Now().After(deadline) {
			t.Fatalf("the agent did not trim on its own after rmi: disk file %d MiB -> %d MiB", before>>20, allocated(t, h)>>20)
		}
		time.Sleep(time.Second)
	}
}

// busybox is an image of the host's static busybox with the applets the
// test uses.
func busybox(t *testing.T) v1.Image {
	t.Helper()
	return testimage.BusyboxImage(t, nil,
		testimage.File{Name: "bin/sleep", Link: "busybox"}, testimage.File{Name: "bin/echo", Link: "busybox"})
}

// testStopContainers stops the machine with running containers: each gets
// its own stop signal from the engine (not a blanket SIGTERM from init),
// and at the next start the "always" one runs again while the "no" one
// stays exited with the code its signal handler chose.
func testStopContainers(t *testing.T, h string) {
	tarPath := testimage.WriteArchive(t, "berth-test/bb:1", busybox(t))
	expect(t, berth(t, h, "--machine", "vm", "load", "-i", tarPath), 0, "Loaded image", "")
	script := "trap 'echo got-usr1; exit 3' USR1; trap 'echo got-term; exit 4' TERM; while true; do sleep 0.1; done"
	for _, c := range []struct{ name, restart string }{{"always", "always"}, {"once", "no"}} {
		expect(t, berth(t, h, "--machine", "vm", "run", "-d", "--name", c.name, "--restart", c.restart, "--stop-signal", "SIGUSR1",
			"berth-test/bb:1", "sh", "-c", script), 0, "", "")
	}
	expect(t, berth(t, h, "machine", "stop", "vm"), 0, "", "")
	expect(t, berth(t, h, "machine", "start", "vm"), 0, "", "")
	deadline := time.Now().Add(2 * time.Minute)
	for {
		r := berth(t, h, "--machine", "vm", "ps", "--format", "{{.Names}}")
		if strings.Contains(r.out, "always") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the restart=always container did not come back after the machine restarted: ps = %q %s", r.out, r.err)
		}
		time.Sleep(time.Second)
	}
	for _, n := range []string{"always", "once"} {
		if r := berth(t, h, "--machine", "vm", "logs", n); !strings.Contains(r.out, "got-usr1") || strings.Contains(r.out, "got-term") {
			t.Errorf("%s: log %q, want got-usr1 (its stop signal from the engine) and no got-term", n, r.out)
		}
	}
	r := berth(t, h, "--machine", "vm", "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", "once")
	if got := strings.TrimSpace(r.out); got != "exited 3" {
		t.Errorf("restart=no container after the machine restarted: %q %s, want exited 3", got, r.err)
	}
}
