package qemu

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

func TestCheckDisk(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write map[int64]string // offset -> bytes
		want  string           // "" for no error, else a substring of it
	}{
		{"blank", nil, ""},
		{"ext4", map[int64]string{1080: "\x53\xef"}, ""},
		{"random bytes", map[int64]string{4096: "hello"}, "data of an unknown format"},
		{"qcow2", map[int64]string{0: "QFI\xfb\x00\x00\x00\x03"}, "a qcow2 image"},
		{"xfs", map[int64]string{0: "XFSB"}, "an XFS file system"},
		{"btrfs", map[int64]string{0x10040: "_BHRfS_M"}, "a btrfs file system"},
		{"gpt", map[int64]string{510: "\x55\xaa", 512: "EFI PART"}, "a GPT partition table"},
		{"mbr", map[int64]string{510: "\x55\xaa"}, "a partition table"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), diskFile)
			if err := createDisk(path, 1<<30); err != nil {
				t.Fatal(err)
			}
			fh, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			for off, s := range tc.write {
				if _, err := fh.WriteAt([]byte(s), off); err != nil {
					t.Fatal(err)
				}
			}
			fh.Close()
			err = checkDisk(path)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("checkDisk = %v, want nil", err)
			case tc.want != "" && err == nil:
				t.Errorf("checkDisk = nil, want an error saying %q", tc.want)
			case tc.want != "" && (!strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) || !errdefs.IsFailedPrecondition(err)):
				t.Errorf("checkDisk = %v, want a failed-precondition error naming %s and saying %q", err, path, tc.want)
			}
		})
	}
	if err := checkDisk(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Errorf("checkDisk of a missing file = nil")
	}
}
