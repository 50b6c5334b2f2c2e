package snapshot

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
	// whiteoutMeta is the prefix of aufs metadata entries that have no
	// meaning on overlay (.wh..wh.plnk, .wh..wh.aufs).
	whiteoutMeta = ".wh..wh."
	xattrPrefix  = "SCHILY.xattr."
	opaqueXattr  = "trusted.overlay.opaque"
	copyBufSize  = 256 << 10
)

// Apply unpacks the uncompressed layer tar r into the existing directory
// root and returns the summed size of its regular files. No entry can write
// outside root: absolute names, ".." escapes, paths through any symlink and
// hard links to outside are rejected with an error naming the entry.
// Whiteouts become overlay whiteouts (0:0 character devices) and opaque
// markers the trusted.overlay.opaque=y xattr; ownership, modes, times,
// xattrs and device nodes are kept; runs of zeros become holes.
func Apply(ctx context.Context, root string, r io.Reader) (int64, error) {
	rfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", root, err)
	}
	a := &applier{root: rfd, buf: make([]byte, copyBufSize), euid: os.Geteuid()}
	defer unix.Close(rfd)
	tr := tar.NewReader(r)
	var size int64
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("read layer tar: %w", err)
		}
		if err := a.entry(hdr, tr); err != nil {
			return 0, fmt.Errorf("layer entry %q: %w", hdr.Name, err)
		}
		if hdr.Typeflag == tar.TypeReg {
			size += hdr.Size
		}
	}
	if err := a.dirTimes(); err != nil {
		return 0, err
	}
	return size, nil
}

type dirTime struct {
	name  string
	mtime time.Time
	atime time.Time
}

type applier struct {
	root int
	buf  []byte
	euid int
	dirs []dirTime
}

// cleanName validates a tar path and returns it relative to the root ("" for
// the root itself).
func cleanName(name string) (string, error) {
	if name == "" {
		return "", errors.New("empty name")
	}
	if strings.HasPrefix(name, "/") {
		return "", errors.New("absolute path not allowed in a layer")
	}
	c := path.Clean(name)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", errors.New("path escapes the layer root")
	}
	if c == "." {
		return "", nil
	}
	return c, nil
}

// openParent opens the directory holding rel, refusing any symlink or
// escape on the way, and returns its fd and the final component.
func (a *applier) openParent(rel string) (int, string, error) {
	dir, base := path.Split(rel)
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" {
		fd, err := unix.Dup(a.root)
		return fd, base, err
	}
	fd, err := openBeneath(a.root, dir)
	if err != nil {
		return -1, "", err
	}
	return fd, base, nil
}

func openBeneath(root int, rel string) (int, error) {
	fd, err := unix.Openat2(root, rel, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOENT) {
		// No openat2, or missing parents, which tars may leave out and
		// which are created as docker does (0755, root-owned).
		fd, err = walkBeneath(root, rel)
	}
	switch {
	case errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENOTDIR):
		return -1, fmt.Errorf("parent path %q is not a plain directory inside the layer (symlinks in parent paths are refused)", rel)
	case errors.Is(err, unix.EXDEV):
		return -1, fmt.Errorf("parent path %q escapes the layer root", rel)
	case errors.Is(err, unix.ENOENT):
		return -1, fmt.Errorf("parent directory %q does not exist", rel)
	case err != nil:
		return -1, fmt.Errorf("open parent %q: %w", rel, err)
	}
	return fd, nil
}

// walkBeneath opens rel one component at a time without following
// symlinks, creating missing directories.
func walkBeneath(root int, rel string) (int, error) {
	fd, err := unix.Dup(root)
	if err != nil {
		return -1, err
	}
	for _, c := range strings.Split(rel, "/") {
		if c == ".." {
			unix.Close(fd)
			return -1, unix.EXDEV
		}
		nfd, err := unix.Openat(fd, c, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENOENT) {
			if err = unix.Mkdirat(fd, c, 0o755); err == nil || errors.Is(err, unix.EEXIST) {
				nfd, err = unix.Openat(fd, c, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			}
		}
		unix.Close(fd)
		if err != nil {
			return -1, err
		}
		fd = nfd
	}
	return fd, nil
}

func (a *applier) entry(hdr *tar.Header, r io.Reader) error {
	rel, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if rel == "" {
		return nil // the layer root itself: the snapshot dir keeps its own
	}
	pfd, base, err := a.openParent(rel)
	if err != nil {
		return err
	}
	defer unix.Close(pfd)
	if base == whiteoutOpaque {
		return a.opaque(pfd)
	}
	if strings.HasPrefix(base, whiteoutMeta) {
		return nil
	}
	if name, ok := strings.CutPrefix(base, whiteoutPrefix); ok {
		if name == "" || name == "." || name == ".." {
			return errors.New("malformed whiteout")
		}
		if err := a.replace(pfd, name, false); err != nil {
			return err
		}
		return unix.Mknodat(pfd, name, unix.S_IFCHR, 0)
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		return a.dir(pfd, base, rel, hdr)
	case tar.TypeReg, tar.TypeRegA, tar.TypeGNUSparse:
		return a.file(pfd, base, hdr, r)
	case tar.TypeSymlink:
		if err := a.replace(pfd, base, false); err != nil {
			return err
		}
		if err := unix.Symlinkat(hdr.Linkname, pfd, base); err != nil {
			return err
		}
	case tar.TypeLink:
		return a.hardlink(pfd, base, hdr)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		if err := a.device(pfd, base, hdr); err != nil {
			return err
		}
	case tar.TypeXGlobalHeader:
		return nil
	default:
		return fmt.Errorf("unsupported tar entry type %q", hdr.Typeflag)
	}
	return a.meta(pfd, base, hdr)
}

// replace removes whatever is at name, except a directory when keepDir.
func (a *applier) replace(pfd int, name string, keepDir bool) error {
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return unix.Unlinkat(pfd, name, 0)
	}
	if keepDir {
		return nil
	}
	return os.RemoveAll(fmt.Sprintf("/proc/self/fd/%d/%s", pfd, name))
}

func (a *applier) opaque(pfd int) error {
	fd, err := unix.Openat(pfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Fsetxattr(fd, opaqueXattr, []byte("y"), 0); err != nil {
		return fmt.Errorf("mark directory opaque: %w", err)
	}
	return nil
}

func (a *applier) dir(pfd int, base, rel string, hdr *tar.Header) error {
	if err := a.replace(pfd, base, true); err != nil {
		return err
	}
	if err := unix.Mkdirat(pfd, base, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
		return err
	}
	if err := a.meta(pfd, base, hdr); err != nil {
		return err
	}
	a.dirs = append(a.dirs, dirTime{name: rel, mtime: hdr.ModTime, atime: hdr.AccessTime})
	return nil
}

func (a *applier) hardlink(pfd int, base string, hdr *tar.Header) error {
	target, err := cleanName(hdr.Linkname)
	if err != nil || target == "" {
		return fmt.Errorf("hard link target %q: not inside the layer", hdr.Linkname)
	}
	tfd, tbase, err := a.openParent(target)
	if err != nil {
		return fmt.Errorf("hard link target %q: %w", hdr.Linkname, err)
	}
	defer unix.Close(tfd)
	if err := a.replace(pfd, base, false); err != nil {
		return err
	}
	if err := unix.Linkat(tfd, tbase, pfd, base, 0); err != nil {
		return fmt.Errorf("hard link to %q: %w", hdr.Linkname, err)
	}
	return nil
}

// device makes a character or block device or a FIFO.
func (a *applier) device(pfd int, base string, hdr *tar.Header) error {
	if err := a.replace(pfd, base, false); err != nil {
		return err
	}
	mode := uint32(hdr.Mode & 0o7777)
	switch hdr.Typeflag {
	case tar.TypeChar:
		mode |= unix.S_IFCHR
	case tar.TypeBlock:
		mode |= unix.S_IFBLK
	default:
		mode |= unix.S_IFIFO
	}
	if err := unix.Mknodat(pfd, base, mode, int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor)))); err != nil {
		return fmt.Errorf("mknod: %w", err)
	}
	return nil
}
