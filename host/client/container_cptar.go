package client

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// writeTar writes src as a tar whose top entry is named root; with root
// "" the entries are src's contents ("dir/." in docker's cp). followLink
// archives what a symlink src points to instead of the link (-L).
func writeTar(w io.Writer, src, root string, followLink bool) error {
	tw := tar.NewWriter(w)
	src = filepath.Clean(src)
	info, err := os.Lstat(src)
	if err == nil && followLink && info.Mode()&fs.ModeSymlink != 0 {
		info, err = os.Stat(src)
	}
	if err != nil {
		return err
	}
	if !info.IsDir() {
		if root == "" {
			root = filepath.Base(src)
		}
		if err := writeFileToTar(tw, src, root, info, nil); err != nil {
			return err
		}
		return tw.Close()
	}
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(filepath.Join(root, rel))
		if rel == "." {
			if root == "" {
				return nil
			}
			name = root
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		return writeFileToTar(tw, p, name, fi, nil)
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// writeFileToTar writes the file at path to tw as name (a directory gets a
// trailing "/"), a symlink with its target and a regular file with its
// content; edit, when set, adjusts the header first.
func writeFileToTar(tw *tar.Writer, path, name string, fi fs.FileInfo, edit func(*tar.Header)) error {
	link := ""
	if fi.Mode()&fs.ModeSymlink != 0 {
		var err error
		if link, err = os.Readlink(path); err != nil {
			return err
		}
	}
	h, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	h.Name = name
	if fi.IsDir() {
		h.Name += "/"
	}
	if edit != nil {
		edit(h)
	}
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(tw, f)
	return err
}

// extractTar writes a tar read from a container into dst: the tar's top
// entry becomes dst itself. Names may not leave dst and nothing is written
// through a symlink. With keepOwner (-a) files get the tar's uid and gid.
func extractTar(r io.Reader, dst string, keepOwner bool) (int64, error) {
	tr := tar.NewReader(r)
	var total int64
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return total, nil
		}
		if err != nil {
			return total, err
		}
		rel := stripTop(h.Name)
		if rel == "" {
			continue // a name that would leave dst
		}
		target := filepath.Join(dst, filepath.FromSlash(rel))
		if err := checkNoSymlinkParents(dst, target); err != nil {
			return total, err
		}
		n, err := writeTarEntry(tr, h, target)
		if err != nil {
			return total, err
		}
		total += n
		if keepOwner {
			_ = os.Lchown(target, h.Uid, h.Gid)
		}
	}
}

// stripTop drops the first component of a tar name ("base/x/y" -> "x/y";
// "base" -> "."). A name escaping upwards yields "".
func stripTop(name string) string {
	name = strings.TrimPrefix(filepath.ToSlash(name), "./")
	name = strings.Trim(name, "/")
	if name == "" || name == "." {
		return "."
	}
	_, rest, ok := strings.Cut(name, "/")
	if !ok {
		return "."
	}
	clean := filepath.ToSlash(filepath.Clean(rest))
	if clean == ".." || strings.HasPrefix(clean, "../") || filepath.IsAbs(rest) {
		return ""
	}
	return clean
}

func checkNoSymlinkParents(root, target string) error {
	rel, err := filepath.Rel(root, filepath.Dir(target))
	if err != nil || rel == "." {
		return err
	}
	p := root
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		p = filepath.Join(p, part)
		if fi, err := os.Lstat(p); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("refusing to write %s through the symlink %s", target, p)
		}
	}
	return nil
}

func writeTarEntry(tr *tar.Reader, h *tar.Header, target string) (int64, error) {
	mode := fs.FileMode(h.Mode).Perm()
	switch h.Typeflag {
	case tar.TypeDir:
		if err := os.MkdirAll(target, mode|0o700); err != nil {
			return 0, err
		}
		return 0, os.Chmod(target, mode)
	case tar.TypeSymlink:
		_ = os.Remove(target)
		return 0, os.Symlink(h.Linkname, target)
	case tar.TypeReg:
		if fi, err := os.Lstat(target); err == nil && !fi.Mode().IsRegular() {
			if fi.IsDir() {
				return 0, fmt.Errorf("cannot overwrite directory %q with non-directory", target)
			}
			_ = os.Remove(target)
		}
		f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
		if err != nil {
			return 0, err
		}
		n, err := io.Copy(f, tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			_ = os.Chtimes(target, h.ModTime, h.ModTime)
		}
		return n, err
	}
	return 0, nil // devices, fifos and hard links are skipped, as on a laptop they rarely make sense
}
