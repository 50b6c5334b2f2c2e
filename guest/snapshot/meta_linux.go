package snapshot

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// file writes a regular file, turning runs of zero blocks into holes so
// that large sparse files stay sparse.
func (a *applier) file(pfd int, base string, hdr *tar.Header, r io.Reader) error {
	if err := a.replace(pfd, base, false); err != nil {
		return err
	}
	fd, err := unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), base)
	defer f.Close()
	if err := a.copySparse(f, r, hdr.Size); err != nil {
		return err
	}
	return a.meta(pfd, base, hdr)
}

func (a *applier) copySparse(f *os.File, r io.Reader, size int64) error {
	var off int64
	hole := false
	for off < size {
		n := int64(len(a.buf))
		if size-off < n {
			n = size - off
		}
		b := a.buf[:n]
		if _, err := io.ReadFull(r, b); err != nil {
			return fmt.Errorf("read file data: %w", err)
		}
		if isZero(b) {
			hole = true
		} else {
			if _, err := f.WriteAt(b, off); err != nil {
				return err
			}
			hole = false
		}
		off += n
	}
	if hole {
		return f.Truncate(size)
	}
	return nil
}

var zeroBlock = make([]byte, copyBufSize)

func isZero(b []byte) bool {
	return bytes.Equal(b, zeroBlock[:len(b)])
}

// meta applies ownership, mode, xattrs and times of hdr to pfd/base.
func (a *applier) meta(pfd int, base string, hdr *tar.Header) error {
	if err := unix.Fchownat(pfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if a.euid == 0 || !errors.Is(err, unix.EPERM) {
			return fmt.Errorf("chown: %w", err)
		}
	}
	for k, v := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(k, xattrPrefix)
		if !ok {
			continue
		}
		p := fmt.Sprintf("/proc/self/fd/%d/%s", pfd, base)
		if err := unix.Lsetxattr(p, name, []byte(v), 0); err != nil {
			if errors.Is(err, unix.ENOTSUP) || (a.euid != 0 && errors.Is(err, unix.EPERM)) {
				continue
			}
			return fmt.Errorf("set xattr %s: %w", name, err)
		}
	}
	if hdr.Typeflag != tar.TypeSymlink {
		// After chown, which clears setuid/setgid bits.
		if err := unix.Fchmodat(pfd, base, uint32(hdr.FileInfo().Mode().Perm())|modeBits(hdr.Mode), 0); err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
	}
	if hdr.Typeflag == tar.TypeDir {
		return nil // set after the directory's contents are written
	}
	return setTimes(pfd, base, hdr.AccessTime, hdr.ModTime)
}

func modeBits(m int64) uint32 {
	return uint32(m) & (unix.S_ISUID | unix.S_ISGID | unix.S_ISVTX)
}

func setTimes(fd int, name string, atime, mtime time.Time) error {
	if atime.IsZero() {
		atime = mtime
	}
	ts := []unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
	if mtime.IsZero() {
		return nil
	}
	if err := unix.UtimesNanoAt(fd, name, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

// dirTimes sets directory times last, deepest first, since writing into a
// directory changes its mtime.
func (a *applier) dirTimes() error {
	for i := len(a.dirs) - 1; i >= 0; i-- {
		d := a.dirs[i]
		pfd, base, err := a.openParent(d.name)
		if err != nil {
			continue // replaced by a later entry
		}
		err = setTimes(pfd, base, d.atime, d.mtime)
		unix.Close(pfd)
		if err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("layer entry %q: %w", d.name, err)
		}
	}
	return nil
}

// syncTree flushes everything written under dir to disk: one syncfs of the
// filesystem is far cheaper than an fsync per file.
func syncTree(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Syncfs(fd)
}
