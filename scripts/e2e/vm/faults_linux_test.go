package vm

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/machineproc"
)

// TestVMFaults: what a user sees when a qemu machine cannot work. Each
// failure is a clear error naming the file to look at, leaves no process
// running and no machine half-registered, and destroys nothing.
func TestVMFaults(t *testing.T) {
	img := requireVM(t)
	t.Run("image of another architecture", func(t *testing.T) {
		e := newEnv(t, "wrongarch")
		other := map[string]string{"amd64": "arm64", "arm64": "amd64"}[runtime.GOARCH]
		bad := fakeImage(t, img, `{"arch":"`+other+`"}`)
		r := e.run(t, commandTimeout, "machine", "init", "--driver", "qemu", "--image", bad, "wrongarch")
		if r.code == 0 || !strings.Contains(r.stderr, other) {
			t.Errorf("init with an %s image: want an error naming the architecture\n%s", other, r)
		}
		if ls := e.ok(t, "machine", "ls", "-q").stdout; strings.Contains(ls, "wrongarch") {
			t.Errorf("a failed init left the machine registered: %q", ls)
		}
	})
	t.Run("disk that is not ext4", func(t *testing.T) {
		e := newEnv(t, "notext4")
		e.ok(t, "machine", "init", "--driver", "qemu", "--image", img, "--memory", "512MiB", "--disk", "1GiB", "notext4")
		disk := filepath.Join(e.dir(), "disk.img")
		writeAt(t, disk, 0, "XFSB")
		r := e.run(t, bootTimeout, "machine", "start")
		if r.code == 0 || !strings.Contains(r.stderr, disk) || !strings.Contains(r.stderr, "not an ext4 file system") {
			t.Errorf("start with an XFS disk: want an error naming %s\n%s", disk, r)
		}
		e.checkStopped(t)
		b := make([]byte, 4)
		if fh, err := os.Open(disk); err != nil {
			t.Error(err)
		} else if _, err := fh.ReadAt(b, 0); err != nil || string(b) != "XFSB" {
			fh.Close()
			t.Errorf("the disk was changed: it starts with %q (%v)", b, err)
		} else {
			fh.Close()
		}
	})
	t.Run("VM that never becomes ready", func(t *testing.T) {
		e := newEnv(t, "panics")
		kernel, err := os.ReadFile(filepath.Join(img, "kernel"))
		if err != nil {
			t.Fatal(err)
		}
		manifest, err := os.ReadFile(filepath.Join(img, "manifest.json"))
		if err != nil {
			t.Fatal(err)
		}
		bad := fakeImage(t, img, string(manifest))
		if err := os.WriteFile(filepath.Join(bad, "kernel"), kernel, 0o644); err != nil {
			t.Fatal(err)
		}
		e.ok(t, "machine", "init", "--driver", "qemu", "--image", bad, "--memory", "512MiB", "--disk", "1GiB", "panics")
		r := e.run(t, bootTimeout, "machine", "start")
		console := filepath.Join(e.dir(), "console.log")
		if r.code == 0 || !strings.Contains(r.stderr, console) || !strings.Contains(r.stderr, "Kernel panic") {
			t.Errorf("start with an initramfs that is not one: want an error quoting %s\n%s", console, r)
		}
		e.checkStopped(t)
		e.ok(t, "machine", "rm", "panics")
		if _, err := os.Stat(e.dir()); !os.IsNotExist(err) {
			t.Errorf("machine rm left %s: %v", e.dir(), err)
		}
	})
}

// fakeImage makes a VM image dir with manifest, a kernel that is not one
// and an initramfs of random-looking bytes.
func fakeImage(t *testing.T, real, manifest string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string][]byte{
		"manifest.json": []byte(manifest),
		"kernel":        []byte("not a kernel"),
		"initramfs":     bytes.Repeat([]byte("not an initramfs "), 4096),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func writeAt(t *testing.T, path string, off int64, s string) {
	t.Helper()
	fh, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if _, err := fh.WriteAt([]byte(s), off); err != nil {
		t.Fatal(err)
	}
}

// checkStopped: after a failed start the machine is listed as stopped and
// neither its daemon nor qemu runs.
func (e *env) checkStopped(t *testing.T) {
	t.Helper()
	if row := e.lsRow(t); !strings.HasPrefix(row, e.machine+" qemu Stopped ") {
		t.Errorf("machine ls after a failed start: %q", row)
	}
	for _, f := range []string{"qemu.pid", "daemon.json"} {
		if pid := machineproc.PID(filepath.Join(e.dir(), f)); pid > 1 && machineproc.Alive(pid) {
			t.Errorf("%s names pid %d, which still runs after the failed start", f, pid)
		}
	}
}
