// Package testvmimage writes stand-in VM image dirs for tests of the code
// that moves VM images around (berth-vmimage push/pull, machine init
// --image): the files do not boot, but manifest.json and its digests are
// right, which is all pushing, pulling and verifying look at. Tests that
// boot a VM need a real image (BERTH_TEST_VMIMAGE) instead.
package testvmimage

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/berth-dev/berth/vmimage"
)

// Version is the berth version the fake image's manifest names.
const Version = "v0-test"

// FakeDir writes an amd64 VM image dir (kernel, initramfs, manifest.json)
// in a temp dir of the test and returns it.
func FakeDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	m := vmimage.Manifest{Version: Version, Arch: "amd64", Kernel: vmimage.KernelFile,
		Initramfs: vmimage.InitramfsFile, KernelFormat: "bzImage", Digests: map[string]string{}}
	for name, data := range map[string]string{m.Kernel: "kernel bytes", m.Initramfs: "initramfs bytes"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(data))
		m.Digests[name] = "sha256:" + hex.EncodeToString(sum[:])
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, vmimage.ManifestFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}
