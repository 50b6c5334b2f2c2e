package qemu

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/internal/errkind"
)

// headerSize is how much of the data disk checkDisk reads: the ext4
// superblock (at 1024) and the signatures of the usual other formats
// (btrfs has its own at 64KiB).
const headerSize = 72 << 10

// checkDisk makes sure the guest may use the data disk at path: it holds
// an ext4 file system (a machine that booted before), or it is still
// blank (the guest formats it at first boot). Anything else — another
// file system, a partition table, a qcow2 image, random bytes — is an
// errdefs.ErrFailedPrecondition error naming the file, so that the guest
// never formats over data it does not know.
func checkDisk(path string) error {
	fh, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("data disk: %w", err)
	}
	defer fh.Close()
	b := make([]byte, headerSize)
	n, err := io.ReadFull(fh, b)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return fmt.Errorf("data disk %s: %w", path, err)
	}
	b = b[:n]
	if isExt(b) || allZero(b) {
		return nil
	}
	return errkind.New(errdefs.ErrFailedPrecondition,
		"data disk %s holds %s, not an ext4 file system; berth formats only a blank disk: move the file away, or remove the machine (berth machine rm) and init it again",
		path, describeDisk(b))
}

// isExt reports whether b starts with an ext2/3/4 superblock (magic
// 0xEF53 at byte 1080).
func isExt(b []byte) bool {
	return len(b) >= 1082 && binary.LittleEndian.Uint16(b[1080:]) == 0xEF53
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// describeDisk names what a disk header looks like, for the error.
func describeDisk(b []byte) string {
	at := func(off int, sig string) bool {
		return len(b) >= off+len(sig) && bytes.Equal(b[off:off+len(sig)], []byte(sig))
	}
	switch {
	case at(0, "QFI\xfb"):
		return "a qcow2 image (berth's disk is a raw file)"
	case at(0, "XFSB"):
		return "an XFS file system"
	case at(0x10040, "_BHRfS_M"):
		return "a btrfs file system"
	case at(0, "LUKS\xba\xbe"):
		return "a LUKS volume"
	case at(512, "EFI PART"):
		return "a GPT partition table"
	case at(510, "\x55\xaa"):
		return "a partition table or boot sector"
	}
	return "data of an unknown format"
}
