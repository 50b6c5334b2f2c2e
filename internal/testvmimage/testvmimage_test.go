package testvmimage

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/berth-dev/berth/vmimage"
)

// TestFakeDir: the manifest reads back and verifies against the files; a
// changed kernel no longer does.
func TestFakeDir(t *testing.T) {
	dir := FakeDir(t)
	m, err := vmimage.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != Version || m.Arch != "amd64" || m.Kernel == "" || m.Initramfs == "" {
		t.Errorf("manifest %+v", m)
	}
	if err := m.Verify(dir); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, m.Kernel), []byte("other kernel"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := m.Verify(dir); err == nil {
		t.Errorf("Verify passed with a changed kernel")
	}
}
