package boottest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/ttrpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/berth-dev/berth/host/transport"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
	"github.com/berth-dev/berth/proto/stream"
	"github.com/berth-dev/berth/vmimage"
)

// need skips the test when a program it runs is missing.
func need(t *testing.T, progs ...string) {
	t.Helper()
	for _, p := range progs {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s is not installed (apt-get install qemu-system-x86 qemu-system-arm dpkg): skipping the VM boot test", p)
		}
	}
}

// moduleRoot is the berth source tree (two levels up from this package).
func moduleRoot(t *testing.T) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(filepath.Dir(wd))
}

// buildImage builds the image for arch into a temporary directory, with
// the packages cached in BERTH_VMIMAGE_CACHE or the user cache dir.
func buildImage(t *testing.T, arch string) string {
	t.Helper()
	cache := os.Getenv("BERTH_VMIMAGE_CACHE")
	if cache == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			t.Fatal(err)
		}
		cache = filepath.Join(d, "berth", "vmimage-debs")
	}
	ctx := context.Background()
	tmp := t.TempDir()
	agent, err := vmimage.BuildAgent(ctx, moduleRoot(t), arch, tmp)
	if err != nil {
		t.Fatalf("build agent: %v", err)
	}
	out := filepath.Join(tmp, "image")
	start := time.Now()
	res, err := vmimage.Build(ctx, vmimage.Options{Arch: arch, Agent: agent, Out: out, Cache: cache, Version: "dev"})
	if err != nil {
		if errdefs.IsNotFound(err) && strings.Contains(err.Error(), "apt knows no version") {
			t.Skipf("cannot fetch the %s packages here: %v", arch, err)
		}
		t.Fatalf("build image: %v", err)
	}
	t.Logf("%s image built in %s: initramfs %.1f MB, kernel %s", arch, time.Since(start).Round(time.Second),
		float64(res.Manifest.InitramfsSize)/1e6, res.Manifest.KernelVersion)
	if err := res.Manifest.Verify(out); err != nil {
		t.Fatalf("fresh image does not verify: %v", err)
	}
	return out
}

// qemuArgs returns the command line booting img with the agent's serial
// port on the unix socket sock and the console in the file console.
func qemuArgs(arch, img, sock, console, disk string) (string, []string) {
	bin, machine := "qemu-system-x86_64", []string{"-machine", "q35"}
	cons := "ttyS0"
	if arch == "arm64" {
		bin, machine, cons = "qemu-system-aarch64", []string{"-machine", "virt", "-cpu", "cortex-a57"}, "ttyAMA0"
	}
	args := append(machine, "-accel", "tcg", "-m", "512", "-smp", "1", "-display", "none", "-monitor", "none",
		"-no-reboot", "-serial", "file:"+console,
		"-kernel", filepath.Join(img, vmimage.KernelFile), "-initrd", filepath.Join(img, vmimage.InitramfsFile),
		"-append", fmt.Sprintf("console=%s panic=-1 quiet berth.time=%d berth.hostname=boottest", cons, time.Now().UnixNano()),
		"-device", "virtio-serial-pci", "-chardev", "socket,id=agent,path="+sock+",server=on,wait=off",
		"-device", "virtserialport,chardev=agent,name=berth.agent",
		"-drive", "file="+disk+",if=none,id=data,format=raw,discard=unmap", "-device", "virtio-blk-pci,drive=data",
		"-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0")
	return bin, args
}

// waitConsole waits until the console log has line, or the deadline.
func waitConsole(t *testing.T, console, line string, exited <-chan error, d time.Duration) string {
	t.Helper()
	deadline := time.After(d)
	for {
		b, _ := os.ReadFile(console)
		if bytes.Contains(b, []byte(line)) {
			return string(b)
		}
		select {
		case err := <-exited:
			t.Fatalf("qemu exited (%v) before %q; console:\n%s", err, line, tail(b))
		case <-deadline:
			t.Fatalf("no %q on the console within %s; console:\n%s", line, d, tail(b))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func tail(b []byte) string {
	ls := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(ls) > 30 {
		ls = ls[len(ls)-30:]
	}
	return strings.Join(ls, "\n")
}

func TestBootAmd64(t *testing.T) { testBoot(t, "amd64") }
func TestBootArm64(t *testing.T) { testBoot(t, "arm64") }

func testBoot(t *testing.T, arch string) {
	if testing.Short() {
		t.Skip("boots a VM under emulation; skipped with -short")
	}
	bin, _ := qemuArgs(arch, "", "", "", "")
	need(t, bin, "dpkg-deb", "apt-get", "go")
	img := buildImage(t, arch)
	dir := t.TempDir()
	sock, console, disk := filepath.Join(dir, "agent.sock"), filepath.Join(dir, "console.log"), filepath.Join(dir, "data.img")
	if err := os.WriteFile(disk, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(disk, 1<<30); err != nil {
		t.Fatal(err)
	}
	_, args := qemuArgs(arch, img, sock, console, disk)
	// Hard limit: whatever happens, qemu dies.
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var qerr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &qerr, &qerr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start qemu: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })

	waitConsole(t, console, "berth-init: agent serving", exited, 120*time.Second)
	t.Logf("agent serving %s after qemu started", time.Since(start).Round(100*time.Millisecond))

	sys := dialAgent(t, sock)
	v, err := sys.Version(ctx, &emptypb.Empty{})
	if err != nil {
		t.Fatalf("System.Version over the serial mux: %v", err)
	}
	wantArch := map[string]string{"amd64": "amd64", "arm64": "arm64"}[arch]
	if v.Arch != wantArch || v.Os != "linux" {
		t.Fatalf("System.Version = os %q arch %q, want linux %s", v.Os, v.Arch, wantArch)
	}
	if _, err := sys.Shutdown(ctx, &emptypb.Empty{}); err != nil {
		t.Fatalf("System.Shutdown: %v", err)
	}
	select {
	case <-exited:
	case <-time.After(60 * time.Second):
		b, _ := os.ReadFile(console)
		t.Fatalf("the VM did not power off after System.Shutdown; console:\n%s", tail(b))
	}
	b, _ := os.ReadFile(console)
	if !bytes.Contains(b, []byte("berth-init: power off")) {
		t.Fatalf("qemu exited without init powering off; console:\n%s\nqemu: %s", tail(b), qerr.String())
	}
	logMilestones(t, string(b))
	_ = runtime.GOARCH
}

// logMilestones reports the guest uptimes of init's milestone lines.
func logMilestones(t *testing.T, console string) {
	sc := bufio.NewScanner(strings.NewReader(console))
	for sc.Scan() {
		l := sc.Text()
		if strings.Contains(l, "berth-init:") && strings.Contains(l, "uptime=") {
			t.Log(strings.TrimSpace(l))
		}
	}
}

// dialAgent connects to the agent through the serial port: the host side
// of the multiplexer's handshake (guest/internal/serialmux), a yamux
// client, one stream with a ttrpc header.
func dialAgent(t *testing.T, sock string) agentv1.TTRPCSystemClient {
	t.Helper()
	// The host side of the serial mux, as the qemu driver uses it.
	mux := transport.NewSerialMux(transport.DialFunc(func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}), transport.WithSyncTimeout(30*time.Second))
	t.Cleanup(func() { mux.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := mux.Dial(ctx)
	if err != nil {
		t.Fatalf("open stream over qemu's serial socket: %v", err)
	}
	if err := stream.Write(st, stream.Header{Kind: stream.KindTTRPC}); err != nil {
		t.Fatalf("stream header: %v", err)
	}
	tc := ttrpc.NewClient(st)
	t.Cleanup(func() { tc.Close() })
	return agentv1.NewTTRPCSystemClient(tc)
}
