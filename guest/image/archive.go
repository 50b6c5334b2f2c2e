package image

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/containerd/errdefs"
)

// archive indexes a spooled (uncompressed) image tarball so that its files
// can be read at random without unpacking it.
type archive struct {
	f     *os.File
	files map[string]archiveEntry
}

type archiveEntry struct {
	off, size int64
	link      string // symlink target, relative to the entry's directory
}

// countingReader tracks the offset in the tarball while tar reads it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func badArchive(format string, args ...any) error {
	return fmt.Errorf("invalid image tarball: "+format+": %w", append(args, errdefs.ErrInvalidArgument)...)
}

// indexArchive reads every header of the tarball in f. A truncated or
// corrupt tarball fails here, before anything is stored.
func indexArchive(f *os.File) (*archive, error) {
	a := &archive{f: f, files: map[string]archiveEntry{}}
	cr := &countingReader{r: f}
	tr := tar.NewReader(cr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, badArchive("%v (is it truncated?)", err)
		}
		name := path.Clean(strings.TrimPrefix(hdr.Name, "/"))
		switch hdr.Typeflag {
		case tar.TypeReg, tar.TypeRegA:
			a.files[name] = archiveEntry{off: cr.n, size: hdr.Size}
			// Read the data so a truncated tarball is caught now.
			if n, err := io.Copy(io.Discard, tr); err != nil || n != hdr.Size {
				return nil, badArchive("file %q is cut short (is the tarball truncated?)", hdr.Name)
			}
		case tar.TypeSymlink, tar.TypeLink:
			link := hdr.Linkname
			if hdr.Typeflag == tar.TypeLink {
				link = "/" + strings.TrimPrefix(link, "/")
			}
			a.files[name] = archiveEntry{link: link}
		}
	}
	return a, nil
}

// resolve follows symlinks (docker's older archives link duplicate layers).
func (a *archive) resolve(name string) (archiveEntry, error) {
	name = path.Clean(strings.TrimPrefix(name, "/"))
	for range 16 {
		e, ok := a.files[name]
		if !ok {
			return archiveEntry{}, badArchive("%q is missing", name)
		}
		if e.link == "" {
			return e, nil
		}
		if strings.HasPrefix(e.link, "/") {
			name = path.Clean(strings.TrimPrefix(e.link, "/"))
		} else {
			name = path.Join(path.Dir(name), e.link)
		}
	}
	return archiveEntry{}, badArchive("too many links resolving %q", name)
}

// has reports whether name is in the archive.
func (a *archive) has(name string) bool {
	_, err := a.resolve(name)
	return err == nil
}

// open returns a reader of file name and its size.
func (a *archive) open(name string) (io.ReadCloser, int64, error) {
	e, err := a.resolve(name)
	if err != nil {
		return nil, 0, err
	}
	return io.NopCloser(io.NewSectionReader(a.f, e.off, e.size)), e.size, nil
}

// read returns a (small) file's bytes.
func (a *archive) read(name string) ([]byte, error) {
	r, size, err := a.open(name)
	if err != nil {
		return nil, err
	}
	if size > 64<<20 {
		return nil, badArchive("%q is too large (%d bytes) for metadata", name, size)
	}
	return io.ReadAll(r)
}
