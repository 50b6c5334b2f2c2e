package snapshot

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/guest/internal/testenv"
)

// ent is one tar entry for a test layer.
type ent struct {
	name, body, link string
	typ              byte
	mode             int64
	uid, gid         int
	major, minor     int64
	pax              map[string]string
	size             int64 // for bodies given by reader
}

func file(name, body string) ent { return ent{name: name, body: body, typ: tar.TypeReg, mode: 0o644} }
func dir(name string) ent        { return ent{name: name, typ: tar.TypeDir, mode: 0o755} }
func symlink(name, to string) ent {
	return ent{name: name, link: to, typ: tar.TypeSymlink, mode: 0o777}
}
func hardlink(name, to string) ent   { return ent{name: name, link: to, typ: tar.TypeLink, mode: 0o644} }
func whiteout(dirname, n string) ent { return file(filepath.Join(dirname, ".wh."+n), "") }

func mkTar(t testing.TB, ents ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		hdr := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode, Uid: e.uid, Gid: e.gid,
			Devmajor: e.major, Devminor: e.minor, PAXRecords: e.pax, ModTime: time.Unix(1700000000, 0), Format: tar.FormatPAX}
		if e.typ == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("tar header %s: %v", e.name, err)
		}
		if e.typ == tar.TypeReg {
			if _, err := io.WriteString(tw, e.body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sandbox returns base (holding a file "secret") and the layer root inside it.
func sandbox(t *testing.T) (base, root string) {
	t.Helper()
	base = t.TempDir()
	root = filepath.Join(base, "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "secret"), []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	return base, root
}

// assertOutsideUntouched checks that base holds only root and an unchanged
// secret.
func assertOutsideUntouched(t *testing.T, base string) {
	t.Helper()
	ents, err := os.ReadDir(base)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() != "root" && e.Name() != "secret" {
			t.Errorf("layer wrote outside its root: %s", filepath.Join(base, e.Name()))
		}
	}
	b, err := os.ReadFile(filepath.Join(base, "secret"))
	if err != nil || string(b) != "keep" {
		t.Errorf("file outside the root changed: %q, %v", b, err)
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(base, "secret"), &st); err == nil && st.Nlink != 1 {
		t.Errorf("file outside the root got a hard link (nlink %d)", st.Nlink)
	}
}

func TestApplyRejectsHostileLayers(t *testing.T) {
	testenv.RequiresRoot(t)
	tests := []struct {
		name    string
		ents    []ent
		wantErr string // substring; "" means the layer must apply
	}{
		{"absolute path", []ent{file("/etc/evil", "x")}, `"/etc/evil": absolute path`},
		{"dotdot escape", []ent{file("../secret", "x")}, `"../secret": path escapes`},
		{"hidden dotdot", []ent{dir("a"), file("a/../../secret", "x")}, `path escapes`},
		{"write through symlink to parent", []ent{symlink("evil", ".."), file("evil/secret", "pwned")}, `"evil/secret": parent path "evil"`},
		{"write through absolute symlink", []ent{symlink("evil", "/"), file("evil/tmp/pwned", "x")}, `symlinks in parent paths are refused`},
		{"symlink in deeper parent", []ent{dir("d"), symlink("d/l", "../.."), file("d/l/secret", "x")}, `parent path "d/l"`},
		{"hardlink to outside", []ent{hardlink("hl", "../secret")}, `hard link target "../secret"`},
		{"hardlink through symlink", []ent{symlink("up", ".."), hardlink("hl", "up/secret")}, `hard link target "up/secret"`},
		{"absolute hardlink", []ent{hardlink("hl", "/etc/passwd")}, `hard link target "/etc/passwd"`},
		{"mkdir through symlink", []ent{symlink("up", ".."), dir("up/newdir")}, `parent path "up"`},
		{"whiteout through symlink", []ent{symlink("up", ".."), whiteout("up", "secret")}, `parent path "up"`},
		{"file replaces symlink, not its target", []ent{symlink("s", "../secret"), file("s", "mine")}, ""},
		{"hardlink to a symlink links the symlink", []ent{symlink("s", "../secret"), hardlink("h", "s")}, ""},
		{"dangling absolute symlink is fine", []ent{symlink("etc-link", "/etc/passwd")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, root := sandbox(t)
			_, err := Apply(context.Background(), root, bytes.NewReader(mkTar(t, tt.ents...)))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Apply: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("Apply succeeded, want error containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("Apply error %q, want it to contain %q", err, tt.wantErr)
			}
			assertOutsideUntouched(t, base)
		})
	}
}

func TestApplyKeepsMetadata(t *testing.T) {
	testenv.RequiresRoot(t)
	_, root := sandbox(t)
	suid := file("bin/su", "#!")
	suid.mode = 0o4755
	owned := file("home/u/f", "data")
	owned.uid, owned.gid = 1000, 1001
	xf := file("x", "xattrs")
	xf.pax = map[string]string{"SCHILY.xattr.user.note": "hello", "SCHILY.xattr.trusted.t": "v"}
	null := ent{name: "dev/null", typ: tar.TypeChar, mode: 0o666, major: 1, minor: 3}
	fifo := ent{name: "dev/fifo", typ: tar.TypeFifo, mode: 0o600}
	ents := []ent{dir("bin"), suid, dir("home"), dir("home/u"), owned, xf, dir("dev"), null, fifo,
		symlink("bin/sh", "su"), hardlink("bin/su2", "bin/su")}
	size, err := Apply(context.Background(), root, bytes.NewReader(mkTar(t, ents...)))
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if want := int64(len("#!") + len("data") + len("xattrs")); size != want {
		t.Errorf("size = %d, want %d", size, want)
	}
	check := func(p string, wantMode uint32, uid, gid uint32) unix.Stat_t {
		t.Helper()
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(root, p), &st); err != nil {
			t.Fatalf("lstat %s: %v", p, err)
		}
		if st.Mode != wantMode || st.Uid != uid || st.Gid != gid {
			t.Errorf("%s: mode %o uid %d gid %d, want %o %d %d", p, st.Mode, st.Uid, st.Gid, wantMode, uid, gid)
		}
		if p != "bin/sh" && st.Mtim.Sec != 1700000000 {
			t.Errorf("%s: mtime %d, want 1700000000", p, st.Mtim.Sec)
		}
		return st
	}
	check("bin/su", unix.S_IFREG|0o4755, 0, 0)
	check("home/u/f", unix.S_IFREG|0o644, 1000, 1001)
	check("home", unix.S_IFDIR|0o755, 0, 0)
	if st := check("dev/null", unix.S_IFCHR|0o666, 0, 0); unix.Major(st.Rdev) != 1 || unix.Minor(st.Rdev) != 3 {
		t.Errorf("dev/null is %d:%d, want 1:3", unix.Major(st.Rdev), unix.Minor(st.Rdev))
	}
	check("dev/fifo", unix.S_IFIFO|0o600, 0, 0)
	check("bin/sh", unix.S_IFLNK|0o777, 0, 0)
	if st := check("bin/su2", unix.S_IFREG|0o4755, 0, 0); st.Nlink != 2 {
		t.Errorf("bin/su2 nlink %d, want 2 (hard link)", st.Nlink)
	}
	for k, want := range map[string]string{"user.note": "hello", "trusted.t": "v"} {
		buf := make([]byte, 64)
		n, err := unix.Lgetxattr(filepath.Join(root, "x"), k, buf)
		if err != nil || string(buf[:n]) != want {
			t.Errorf("xattr %s = %q, %v; want %q", k, buf[:max(n, 0)], err, want)
		}
	}
}

func TestApplySparseFile(t *testing.T) {
	testenv.RequiresRoot(t)
	_, root := sandbox(t)
	const size = 64 << 20
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		tw.WriteHeader(&tar.Header{Name: "big", Typeflag: tar.TypeReg, Mode: 0o644, Size: size, ModTime: time.Unix(1, 0)})
		zeros := make([]byte, 1<<20)
		for i := 0; i < size/len(zeros)-1; i++ {
			tw.Write(zeros)
		}
		tail := bytes.Repeat([]byte("x"), 1<<20)
		tw.Write(tail)
		pw.CloseWithError(tw.Close())
	}()
	if _, err := Apply(context.Background(), root, pr); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(root, "big"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Size != size {
		t.Fatalf("size %d, want %d", st.Size, size)
	}
	if used := st.Blocks * 512; used > 4<<20 {
		t.Errorf("64 MiB file of zeros uses %d bytes on disk; want it sparse", used)
	}
	f, _ := os.Open(filepath.Join(root, "big"))
	defer f.Close()
	b := make([]byte, 4)
	f.ReadAt(b, size-4)
	if string(b) != "xxxx" {
		t.Errorf("tail = %q, want xxxx", b)
	}
}
