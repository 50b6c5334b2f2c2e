package qemu

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/host/driver"
	"github.com/berth-dev/berth/host/driver/bootimage"
	"github.com/berth-dev/berth/host/driver/drivertest"
)

// testImageDir returns the VM image to boot in tests: $BERTH_TEST_VMIMAGE,
// or skips saying how to get one.
func testImageDir(t *testing.T) string {
	t.Helper()
	bin, _ := Binary(runtime.GOARCH)
	if _, err := exec.LookPath(bin); err != nil {
		t.Skipf("%s not installed (apt-get install qemu-system-x86): the qemu driver cannot be booted", bin)
	}
	dir := os.Getenv("BERTH_TEST_VMIMAGE")
	if dir == "" {
		t.Skipf("BERTH_TEST_VMIMAGE not set: build an image with go run ./cmd/berth-vmimage build --arch %s --out DIR and set it to DIR", runtime.GOARCH)
	}
	if _, err := bootimage.Open(dir); err != nil {
		t.Skipf("BERTH_TEST_VMIMAGE=%s: %v", dir, err)
	}
	return dir
}

// newTestDriver makes a driver for a fresh machine in a temp dir whose
// qemu is killed at cleanup whatever happens.
func newTestDriver(t *testing.T, img string, boot time.Duration) *Driver {
	t.Helper()
	dir, err := os.MkdirTemp("", "bq")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	f := Factory{ImageDirs: []string{img}, BootTimeout: boot}
	d, err := f.New(driver.Instance{Name: "t", Dir: dir, CPUs: 1, MemoryBytes: 512 << 20, DiskBytes: 2 << 30, Log: testWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	qd := d.(*Driver)
	t.Cleanup(func() {
		qd.mu.Lock()
		run := qd.run
		qd.mu.Unlock()
		if run != nil && !run.exited() {
			run.cmd.Process.Kill()
			<-run.done
		}
		if b, err := os.ReadFile(filepath.Join(dir, consoleFile)); err == nil && t.Failed() {
			t.Logf("console.log:\n%s", b)
		}
	})
	return qd
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Logf("%s", p); return len(p), nil }

// newTestDriver's disk is created and its image checked.
func created(t *testing.T, d *Driver) *Driver {
	t.Helper()
	if err := d.Create(context.Background()); err != nil {
		t.Fatalf("Create: %v", err)
	}
	return d
}

// TestDriverSuite boots the real VM image twice (the shared suite's
// lifecycle and concurrency tests). The boot watchdog gets nearly the
// suite's own start timeout: a first boot (which formats the disk) on a
// host busy with other VMs takes longer than DefaultBootTimeout under TCG.
func TestDriverSuite(t *testing.T) {
	img := testImageDir(t)
	boot := drivertest.StartTimeout - 15*time.Second
	drivertest.Run(t, func(t *testing.T) driver.Driver { return newTestDriver(t, img, boot) })
}

// TestBootTimeout: a VM whose agent does not answer in time is killed and
// the error quotes the console log.
func TestBootTimeout(t *testing.T) {
	img := testImageDir(t)
	d := created(t, newTestDriver(t, img, 3*time.Second))
	exited, err := d.Start(context.Background())
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	select {
	case err := <-exited:
		if err == nil || !strings.Contains(err.Error(), "did not become ready within 3s") ||
			!strings.Contains(err.Error(), "console.log") {
			t.Errorf("exit = %v, want a boot timeout quoting console.log", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("the boot watchdog did not stop the VM")
	}
	if c, err := d.DialAgent(context.Background()); err == nil {
		c.Close()
		t.Errorf("DialAgent after the VM was killed succeeded")
	}
}

// TestBadKernel: qemu refuses a kernel that is not one; Start says so
// with qemu's own words, and nothing keeps running.
func TestBadKernel(t *testing.T) {
	bin, _ := Binary(runtime.GOARCH)
	if _, err := exec.LookPath(bin); err != nil {
		t.Skipf("%s not installed (apt-get install qemu-system-x86)", bin)
	}
	img := t.TempDir()
	os.WriteFile(filepath.Join(img, "manifest.json"), []byte(`{"arch":"`+runtime.GOARCH+`"}`), 0o644)
	os.WriteFile(filepath.Join(img, "kernel"), []byte("this is not a kernel"), 0o644)
	os.WriteFile(filepath.Join(img, "initramfs"), []byte("nor an initramfs"), 0o644)
	d := created(t, newTestDriver(t, img, 0))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err := d.Start(ctx)
	if err == nil || !strings.Contains(err.Error(), "qemu failed to start") || !strings.Contains(err.Error(), "qemu said") {
		t.Fatalf("Start with a bad kernel = %v", err)
	}
	if err := d.Stop(ctx); err != nil {
		t.Errorf("Stop after a failed Start = %v", err)
	}
}
