//go:build linux

package guestinit

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDataDiskNeverFormatsData: a disk holding anything but ext4 is
// refused untouched (a btrfs-like signature at 64 KiB, as the blank probe
// must reach that far); a missing disk is errNoDisk (tmpfs state); a new
// sparse disk counts as blank.
func TestDataDiskNeverFormatsData(t *testing.T) {
	dir := t.TempDir()
	sparse := filepath.Join(dir, "new.img")
	f, err := os.Create(sparse)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(64 << 20)
	f.Close()
	if blank, err := isBlank(sparse); err != nil || !blank {
		t.Errorf("a new sparse disk: blank=%v %v", blank, err)
	}

	used := filepath.Join(dir, "used.img")
	data := make([]byte, 1<<20)
	copy(data[64<<10+64:], "_BHRfS_M") // btrfs's magic in its superblock
	if err := os.WriteFile(used, data, 0o600); err != nil {
		t.Fatal(err)
	}
	err = mountDataDisk(nil, used, filepath.Join(dir, "data"))
	if err == nil || errors.Is(err, errNoDisk) || !strings.Contains(err.Error(), "refusing to format") {
		t.Errorf("a disk with data: %v, want a refusal", err)
	}
	if got, _ := os.ReadFile(used); !bytes.Equal(got, data) {
		t.Error("the disk with data was changed")
	}

	if err := mountDataDisk(nil, filepath.Join(dir, "absent"), filepath.Join(dir, "data2")); !errors.Is(err, errNoDisk) {
		t.Errorf("no disk: %v, want errNoDisk", err)
	}
}
