package qemu

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/internal/errkind"
)

// createDisk makes path a sparse raw disk of size bytes: no block is
// allocated until the guest writes one, and discards from the guest punch
// holes again. An existing disk of that size is kept.
func createDisk(path string, size int64) error {
	if size < 1<<30 {
		return errkind.New(errdefs.ErrInvalidArgument, "disk size must be at least 1GiB")
	}
	if fi, err := os.Stat(path); err == nil {
		if fi.Size() == size {
			return nil
		}
		return errkind.New(errdefs.ErrAlreadyExists, "disk %s exists with another size (%d bytes); remove the machine first", path, fi.Size())
	}
	tmp := path + ".tmp"
	fh, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("create disk: %w", err)
	}
	err = fh.Truncate(size)
	if err == nil {
		err = fh.Sync()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("create disk %s: %w", path, err)
	}
	return nil
}

// DiskUsage returns the bytes the data disk of the machine in dir takes on
// the host and its size. A machine without a qemu disk is an
// errdefs.ErrNotFound error.
func DiskUsage(dir string) (used, size int64, err error) {
	p := filepath.Join(dir, diskFile)
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, 0, errkind.New(errdefs.ErrNotFound, "no disk %s", p)
	}
	if err != nil {
		return 0, 0, err
	}
	return allocated(fi), fi.Size(), nil
}
