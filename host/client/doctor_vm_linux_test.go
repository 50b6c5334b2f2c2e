package client

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/host/driver/bootimage"
	"github.com/berth-dev/berth/host/driver/qemu"
	"github.com/berth-dev/berth/host/machine"
)

// TestDoctorQemu runs doctor against a qemu machine (the daemon in this
// process) with an extra shared folder: the image, daemon, clock and
// folder-share checks pass, the last one having looked at the VM's mount
// table through System.Shell. It needs qemu and BERTH_TEST_VMIMAGE.
func TestDoctorQemu(t *testing.T) {
	bin, _ := qemu.Binary(runtime.GOARCH)
	if _, err := exec.LookPath(bin); err != nil {
		t.Skipf("%s not installed: the qemu driver cannot be booted", bin)
	}
	img := os.Getenv("BERTH_TEST_VMIMAGE")
	if _, err := bootimage.Open(img); img == "" || err != nil {
		t.Skipf("BERTH_TEST_VMIMAGE=%q is not a VM image (go run ./cmd/berth-vmimage build --out DIR): %v", img, err)
	}
	home, folder := t.TempDir(), t.TempDir()
	store := machine.NewStore(home)
	cfg := machine.Config{Name: "dq", Driver: "qemu", Image: img, CPUs: 1, Memory: 1 << 30, Disk: 4 << 30, Shares: []string{folder}}
	if _, err := store.Create(context.Background(), cfg); err != nil {
		t.Fatalf("create machine: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- store.RunDaemon(ctx, "dq", io.Discard) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
	})
	var out bytes.Buffer
	c := &cli{home: home, machine: "dq", out: &out, errOut: &out}
	for deadline := time.Now().Add(3 * time.Minute); ; {
		out.Reset()
		c.doctor(context.Background())
		if strings.Contains(out.String(), "[ok] machine daemon") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the machine never answered:\n%s", out.String())
		}
		select {
		case err := <-done:
			t.Fatalf("daemon exited: %v", err)
		case <-time.After(time.Second):
		}
	}
	for _, want := range []string{
		"[ok] VM image: " + img,
		"[ok] clock: in step with the host",
		"[ok] folder shares: mounted in the VM: ",
		folder,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
