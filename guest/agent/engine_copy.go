//go:build linux

package agent

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// copyUp copies what the image has at dest into the volume directory dst
// when dst is empty, as docker does for a new volume.
func copyUp(lowers []string, dest, dst string) error {
	if len(lowers) == 0 {
		return nil
	}
	ents, err := os.ReadDir(dst)
	if err != nil || len(ents) > 0 {
		return err
	}
	root, cleanup, err := mergedView(lowers)
	if err != nil {
		return err
	}
	defer cleanup()
	src, err := securejoin.SecureJoin(root, dest)
	if err != nil {
		return err
	}
	st, err := os.Stat(src)
	if err != nil || !st.IsDir() {
		return nil // nothing to copy
	}
	if err := copyTree(src, dst); err != nil {
		return err
	}
	return os.Chmod(dst, st.Mode().Perm())
}

// mergedView returns a read-only view of the image layers: the single
// layer itself, or a read-only overlay mount of all of them.
func mergedView(lowers []string) (string, func(), error) {
	if len(lowers) == 1 {
		return lowers[0], func() {}, nil
	}
	dir, err := os.MkdirTemp("", "berth-view-")
	if err != nil {
		return "", nil, err
	}
	opts := "lowerdir=" + strings.Join(lowers, ":")
	if err := unix.Mount("overlay", dir, "overlay", unix.MS_RDONLY, opts); err != nil {
		os.Remove(dir)
		return "", nil, fmt.Errorf("mount image view: %w", err)
	}
	return dir, func() {
		_ = unix.Unmount(dir, unix.MNT_DETACH)
		os.Remove(dir)
	}, nil
}

// copyTree copies the tree under src into dst, keeping modes, owners,
// times, symlinks and hard links as separate files.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if rel == "." {
			return nil
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if err := copyEntry(p, target, info); err != nil {
			return err
		}
		st, _ := info.Sys().(*unix.Stat_t)
		if st != nil {
			_ = os.Lchown(target, int(st.Uid), int(st.Gid))
			ts := []unix.Timespec{st.Atim, st.Mtim}
			_ = unix.UtimesNanoAt(unix.AT_FDCWD, target, ts, unix.AT_SYMLINK_NOFOLLOW)
		}
		return nil
	})
}

func copyEntry(src, dst string, info fs.FileInfo) error {
	switch m := info.Mode(); {
	case m.IsDir():
		if err := os.Mkdir(dst, m.Perm()); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		return os.Chmod(dst, m.Perm()|(m&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)))
	case m&fs.ModeSymlink != 0:
		t, err := os.Readlink(src)
		if err != nil {
			return err
		}
		return os.Symlink(t, dst)
	case m.IsRegular():
		return copyFile(src, dst, m)
	case m&(fs.ModeDevice|fs.ModeNamedPipe) != 0:
		st := info.Sys().(*unix.Stat_t)
		return unix.Mknod(dst, st.Mode, int(st.Rdev))
	}
	return nil // sockets are not copied
}

func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode.Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chmod(dst, mode.Perm()|(mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)))
}
