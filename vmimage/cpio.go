package vmimage

import (
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// cpio mode bits (newc stores the full st_mode).
const (
	modeDir     = 0o040000
	modeFile    = 0o100000
	modeSymlink = 0o120000
	modeCharDev = 0o020000
)

// entry is one file of the initramfs. Ownership is always 0:0 and the
// modification time is always mtime, so the archive depends only on the
// entries themselves.
type entry struct {
	name    string // relative, no leading slash
	mode    uint32 // type and permission bits
	data    []byte // file contents or symlink target
	rdevMaj uint32
	rdevMin uint32
}

// tree is the initramfs being built: a set of entries keyed by path.
type tree struct {
	entries map[string]*entry
}

func newTree() *tree { return &tree{entries: map[string]*entry{}} }

func clean(name string) string {
	return strings.TrimPrefix(path.Clean("/"+name), "/")
}

// mkdirAll adds name and its parents as directories (mode 0755).
func (t *tree) mkdirAll(name string) {
	name = clean(name)
	for name != "" && name != "." {
		if _, ok := t.entries[name]; !ok {
			t.entries[name] = &entry{name: name, mode: modeDir | 0o755}
		}
		name = path.Dir(name)
		if name == "." {
			break
		}
	}
}

// addFile adds a regular file with perm bits perm (and its parent dirs).
func (t *tree) addFile(name string, perm uint32, data []byte) {
	name = clean(name)
	t.mkdirAll(path.Dir(name))
	t.entries[name] = &entry{name: name, mode: modeFile | perm&0o7777, data: data}
}

// addSymlink adds a symbolic link name -> target.
func (t *tree) addSymlink(name, target string) {
	name = clean(name)
	t.mkdirAll(path.Dir(name))
	t.entries[name] = &entry{name: name, mode: modeSymlink | 0o777, data: []byte(target)}
}

// addCharDev adds a character device node.
func (t *tree) addCharDev(name string, perm, major, minor uint32) {
	name = clean(name)
	t.mkdirAll(path.Dir(name))
	t.entries[name] = &entry{name: name, mode: modeCharDev | perm&0o7777, rdevMaj: major, rdevMin: minor}
}

// has reports whether name is in the tree.
func (t *tree) has(name string) bool { _, ok := t.entries[clean(name)]; return ok }

// sorted returns the entries in byte order of their names, so that every
// directory comes before what it holds.
func (t *tree) sorted() []*entry {
	out := make([]*entry, 0, len(t.entries))
	for _, e := range t.entries {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// writeCPIO writes the tree as a "newc" cpio archive (the format the
// kernel unpacks as initramfs) with every mtime set to mtime, uid/gid 0,
// inode numbers assigned in order and the TRAILER!!! record.
func (t *tree) writeCPIO(w io.Writer, mtime int64) (int64, error) {
	cw := &countWriter{w: w}
	ino := uint32(1)
	for _, e := range t.sorted() {
		nlink := uint32(1)
		if e.mode&0o170000 == modeDir {
			nlink = 2
		}
		if err := writeRecord(cw, ino, e.mode, nlink, mtime, e.rdevMaj, e.rdevMin, e.name, e.data); err != nil {
			return cw.n, err
		}
		ino++
	}
	err := writeRecord(cw, 0, 0, 1, 0, 0, 0, "TRAILER!!!", nil)
	return cw.n, err
}

func writeRecord(w *countWriter, ino, mode, nlink uint32, mtime int64, rmaj, rmin uint32, name string, data []byte) error {
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		ino, mode, 0, 0, nlink, uint32(mtime), len(data), 0, 0, rmaj, rmin, len(name)+1, 0)
	if _, err := io.WriteString(w, hdr); err != nil {
		return err
	}
	if _, err := io.WriteString(w, name+"\x00"); err != nil {
		return err
	}
	if err := w.pad(); err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	return w.pad()
}

// countWriter counts bytes so records can be padded to 4-byte boundaries.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

func (c *countWriter) pad() error {
	if r := c.n % 4; r != 0 {
		_, err := c.Write(make([]byte, 4-r))
		return err
	}
	return nil
}
