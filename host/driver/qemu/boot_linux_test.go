package qemu

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/berth-dev/berth/host/driver"
	"github.com/berth-dev/berth/host/driver/bootimage"
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

func TestBootTimeoutQuotesConsole(t *testing.T) {
	img := testImageDir(t)
	d := newTestDriver(t, img, 20*time.Second)
	ctx := context.Background()
	if err := d.Create(ctx); err != nil {
		t.Fatalf("Create: %v", err)
	}
	exited, err := d.Start(ctx)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	select {
	case err := <-exited:
		t.Logf("exit: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatalf("no exit")
	}
}
