//go:build linux

package build

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/containerd/errdefs"
	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/guest/snapshot"
)

// writer places sources into a staging directory that becomes a layer.
// Paths in the image are resolved in view (the parent image's file
// system), so a destination under a symlinked directory lands where the
// symlink points and existing directories keep their owner and mode.
type writer struct {
	view    string
	staging string
	owner   owner
	src     source
}

// place copies one source to dest (an absolute image path; a trailing
// slash marks a directory).
func (w *writer) place(ctx context.Context, m match, dest string, unpack bool) error {
	destDir := strings.HasSuffix(dest, "/")
	dest = path.Clean(dest)
	if m.info.IsDir() {
		dir, err := mkdirAllLike(w.view, w.staging, dest, &w.owner)
		if err != nil {
			return err
		}
		return w.copyTree(m.abs, m.rel, dir)
	}
	if unpack {
		if ok, err := w.unpack(ctx, m, dest); ok || err != nil {
			return err
		}
	}
	if !destDir {
		if p, err := securejoin.SecureJoin(w.view, dest); err == nil {
			if st, err := os.Stat(p); err == nil && st.IsDir() {
				destDir = true
			}
		}
	}
	target := dest
	if destDir {
		target = path.Join(dest, path.Base(m.rel))
	}
	dir, err := mkdirAllLike(w.view, w.staging, path.Dir(target), &w.owner)
	if err != nil {
		return err
	}
	return w.copyEntry(m.abs, filepath.Join(dir, path.Base(target)), m.info)
}

// unpack extracts a local tar archive (plain, gzip or bzip2) into dest,
// as ADD does; it reports false for a file that is not an archive.
func (w *writer) unpack(ctx context.Context, m match, dest string) (bool, error) {
	if !m.info.Mode().IsRegular() {
		return false, nil
	}
	f, err := os.Open(m.abs)
	if err != nil {
		return false, err
	}
	defer f.Close()
	var magic [6]byte
	n, _ := io.ReadFull(f, magic[:])
	if bytes.HasPrefix(magic[:n], []byte{0xfd, '7', 'z', 'X', 'Z', 0}) {
		return false, fmt.Errorf("ADD %s: xz-compressed archives are not supported by this builder: use a gzip or bzip2 archive, or COPY it and unpack it in a RUN step: %w", m.rel, errdefs.ErrNotImplemented)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return false, err
	}
	r, err := decompress(f)
	if err != nil {
		return false, nil
	}
	var head bytes.Buffer
	if _, err := tar.NewReader(io.TeeReader(r, &head)).Next(); err != nil {
		return false, nil
	}
	dir, err := mkdirAllLike(w.view, w.staging, dest, &w.owner)
	if err != nil {
		return false, err
	}
	if _, err := snapshot.Apply(ctx, dir, io.MultiReader(&head, r)); err != nil {
		return true, fmt.Errorf("unpack %s: %w", m.rel, err)
	}
	return true, nil
}

// mkdirAllLike creates dir (an absolute image path) in staging, with
// symlinks in it resolved in view. Directories the image has keep their
// mode and owner; new ones are 0755 owned by o. It returns the staging
// path of dir.
func mkdirAllLike(view, staging, dir string, o *owner) (string, error) {
	real, err := securejoin.SecureJoin(view, dir)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(view, real)
	if err != nil || strings.HasPrefix(rel, "..") {
		return "", fmt.Errorf("path %s resolves outside the image", dir)
	}
	cur := staging
	if rel == "." {
		return cur, nil
	}
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		cur = filepath.Join(cur, part)
		if st, err := os.Lstat(cur); err == nil && st.IsDir() {
			continue
		}
		mode, uid, gid := fs.FileMode(0o755), 0, 0
		if o != nil {
			uid, gid = o.uid, o.gid
		}
		vp := filepath.Join(view, strings.TrimPrefix(cur, staging))
		if st, err := os.Lstat(vp); err == nil {
			if !st.IsDir() {
				return "", fmt.Errorf("cannot copy to %s: %s is not a directory", dir, strings.TrimPrefix(cur, staging))
			}
			mode = st.Mode().Perm() | st.Mode()&(fs.ModeSticky|fs.ModeSetgid|fs.ModeSetuid)
			if sys, ok := st.Sys().(*unix.Stat_t); ok {
				uid, gid = int(sys.Uid), int(sys.Gid)
			}
		}
		if err := os.Mkdir(cur, 0o700); err != nil {
			return "", err
		}
		if err := setMeta(cur, mode, uid, gid); err != nil {
			return "", err
		}
	}
	return cur, nil
}

func setMeta(p string, mode fs.FileMode, uid, gid int) error {
	if err := os.Lchown(p, uid, gid); err != nil {
		return err
	}
	return os.Chmod(p, mode)
}

// copyTree copies the contents of directory src (source path rel) into
// dst, skipping what .dockerignore excludes.
func (w *writer) copyTree(src, rel, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		sub, _ := filepath.Rel(src, p)
		if sub == "." {
			return nil
		}
		if w.src.context && w.src.ignore.excluded(path.Join(rel, filepath.ToSlash(sub))) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return w.copyEntry(p, filepath.Join(dst, sub), info)
	})
}

// copyEntry copies one file, directory or symlink, owned by the owner,
// keeping its mode and modification time.
func (w *writer) copyEntry(src, dst string, info fs.FileInfo) error {
	mode := info.Mode()
	switch {
	case mode.IsDir():
		if st, err := os.Lstat(dst); err == nil && st.IsDir() {
			return nil
		}
		if err := os.Mkdir(dst, 0o700); err != nil {
			return err
		}
	case mode&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		_ = os.Remove(dst)
		if err := os.Symlink(target, dst); err != nil {
			return err
		}
		return os.Lchown(dst, w.owner.uid, w.owner.gid)
	case mode.IsRegular():
		if err := copyFile(src, dst); err != nil {
			return err
		}
	default:
		return nil // devices, sockets and pipes are not copied
	}
	if err := setMeta(dst, mode.Perm()|mode&(fs.ModeSticky|fs.ModeSetgid|fs.ModeSetuid), w.owner.uid, w.owner.gid); err != nil {
		return err
	}
	return os.Chtimes(dst, info.ModTime(), info.ModTime())
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	_ = os.Remove(dst)
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// hashSources is docker's source checksum in created_by: "file:<sha256>"
// for one file, "dir:<sha256>" for one directory, "multi:<sha256>" for
// several. It covers names, modes, link targets and contents, not times.
func hashSources(ms []match, src source) (string, error) {
	var sums []string
	for _, m := range ms {
		h := sha256.New()
		if err := hashTree(h, m, src); err != nil {
			return "", fmt.Errorf("checksum %s: %w", m.rel, err)
		}
		sums = append(sums, hex.EncodeToString(h.Sum(nil)))
	}
	if len(ms) == 1 {
		kind := "file:"
		if ms[0].info.IsDir() {
			kind = "dir:"
		}
		return kind + sums[0], nil
	}
	sorted := append([]string{}, sums...)
	sort.Strings(sorted)
	h := sha256.Sum256([]byte(strings.Join(sorted, ",")))
	return "multi:" + hex.EncodeToString(h[:]), nil
}

func hashTree(h hash.Hash, m match, src source) error {
	return filepath.WalkDir(m.abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		sub, _ := filepath.Rel(m.abs, p)
		sub = filepath.ToSlash(sub)
		if sub != "." && src.context && src.ignore.excluded(path.Join(m.rel, sub)) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := os.Stat(p)
		if p != m.abs || err != nil {
			if info, err = d.Info(); err != nil {
				return err
			}
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			link, _ = os.Readlink(p)
		}
		fmt.Fprintf(h, "%s\x00%o\x00%d\x00%s\x00", sub, uint32(info.Mode()), info.Size(), link)
		if !info.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(h, f)
		if errors.Is(err, fs.ErrClosed) {
			return nil
		}
		return err
	})
}
