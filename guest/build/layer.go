//go:build linux

package build

import (
	"archive/tar"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// runtimeFiles are the mount points the runtime bind-mounts over; their
// copies in a container's writable layer are not part of a build step,
// as docker keeps them in its init layer.
var runtimeFiles = map[string]bool{"etc/hosts": true, "etc/hostname": true, "etc/resolv.conf": true}

// runtimeDirs are mount points the runtime creates when the image lacks
// them; they are dropped while empty.
var runtimeDirs = map[string]bool{"proc": true, "sys": true, "dev": true}

// WriteLayer writes the tree under dir as a layer tar at dst, in sorted
// order, and syncs it. For a container's overlay upper dir (upper),
// whiteouts become .wh. entries, opaque directories get .wh..wh..opq, and
// the runtime's mount points (/etc/hosts, /etc/hostname, /etc/resolv.conf,
// empty /proc, /sys, /dev) are left out, as docker's init layer keeps them
// out of a build step or a commit.
func WriteLayer(dir, dst string, upper bool) error {
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer out.Close()
	tw := tar.NewWriter(out)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if upper && skipRuntime(p, rel, info) {
			if info.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		return writeTarEntry(tw, p, rel, info, upper)
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return out.Sync()
}

func skipRuntime(p, rel string, info fs.FileInfo) bool {
	if runtimeFiles[rel] {
		return true
	}
	if runtimeDirs[rel] && info.IsDir() {
		ents, err := os.ReadDir(p)
		return err == nil && len(ents) == 0
	}
	return false
}

func writeTarEntry(tw *tar.Writer, p, rel string, info fs.FileInfo, upper bool) error {
	if upper && IsWhiteout(info) {
		return tw.WriteHeader(&tar.Header{Name: path.Join(path.Dir(rel), ".wh."+path.Base(rel)), Typeflag: tar.TypeReg, Mode: 0o600, ModTime: info.ModTime()})
	}
	link := ""
	if info.Mode()&fs.ModeSymlink != 0 {
		link, _ = os.Readlink(p)
	}
	hdr, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return nil // sockets are not part of a layer
	}
	hdr.Name, hdr.Uname, hdr.Gname = rel, "", ""
	if info.IsDir() {
		hdr.Name += "/"
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if info.IsDir() && upper && isOpaque(p) {
		return tw.WriteHeader(&tar.Header{Name: rel + "/.wh..wh..opq", Typeflag: tar.TypeReg, Mode: 0o600, ModTime: info.ModTime()})
	}
	if !info.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(tw, f)
	return err
}

// IsWhiteout reports an overlay whiteout in an upper dir: a 0/0
// character device.
func IsWhiteout(info fs.FileInfo) bool {
	if info.Mode()&fs.ModeCharDevice == 0 {
		return false
	}
	st, ok := info.Sys().(*unix.Stat_t)
	return ok && st.Rdev == 0
}

func isOpaque(dir string) bool {
	b := make([]byte, 8)
	n, err := unix.Lgetxattr(dir, "trusted.overlay.opaque", b)
	return err == nil && n == 1 && b[0] == 'y'
}
