package snapshot

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/guest/internal/testenv"
)

func key(s string) string {
	h := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(h[:])
}

func TestOverlayWhiteouts(t *testing.T) {
	testenv.RequiresRoot(t)
	ctx := context.Background()
	s, err := New(filepath.Join(t.TempDir(), "snapshots"))
	if err != nil {
		t.Fatal(err)
	}
	lower := mkTar(t, dir("dir1"), file("dir1/f1", "1"), file("dir1/f2", "2"),
		dir("dir2"), file("dir2/g1", "g"), file("gone", "bye"), file("kept", "k"))
	upper := mkTar(t, whiteout(".", "gone"), dir("dir1"), whiteout("dir1", "f1"),
		dir("dir2"), file("dir2/.wh..wh..opq", ""), file("dir2/new", "n"), file("kept", "k2"))
	base, top := key("base"), key("top")
	for k, layer := range map[string][]byte{base: lower, top: upper} {
		if _, err := s.Unpack(ctx, k, bytes.NewReader(layer), nil); err != nil {
			t.Fatalf("Unpack %s: %v", k, err)
		}
	}
	dirs, err := s.LowerDirs([]string{base, top})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dirs[0], strings.TrimPrefix(top, "sha256:")) {
		t.Fatalf("LowerDirs = %v, want the top layer first", dirs)
	}
	mnt := t.TempDir()
	if err := unix.Mount("overlay", mnt, "overlay", unix.MS_RDONLY, "lowerdir="+strings.Join(dirs, ":")); err != nil {
		t.Fatalf("mount overlay: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
	tests := []struct {
		path string
		want string // "" = must not exist
	}{
		{"gone", ""}, {"dir1/f1", ""}, {"dir1/f2", "2"}, {"dir2/g1", ""}, {"dir2/new", "n"}, {"kept", "k2"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(mnt, tt.path))
			if tt.want == "" {
				if !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s visible through the overlay (%q, %v); want whited out", tt.path, b, err)
				}
				return
			}
			if err != nil || string(b) != tt.want {
				t.Errorf("%s = %q, %v; want %q", tt.path, b, err, tt.want)
			}
		})
	}
}

func TestStoreLifecycle(t *testing.T) {
	testenv.RequiresRoot(t)
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "snapshots")
	s, err := New(root)
	if err != nil {
		t.Fatal(err)
	}
	k := key("one")
	layer := mkTar(t, file("a", "hello"), file("b", "world!"))
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.Unpack(ctx, k, bytes.NewReader(layer), nil)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Unpack %d: %v", i, err)
		}
	}
	if n, err := s.Usage(k); err != nil || n != 11 {
		t.Errorf("Usage = %d, %v; want 11", n, err)
	}
	if ids, _ := s.List(); len(ids) != 1 || ids[0] != k {
		t.Errorf("List = %v, want [%s]", ids, k)
	}
	if tmp, _ := os.ReadDir(filepath.Join(root, ".tmp")); len(tmp) != 0 {
		t.Errorf("temporary unpack dirs left behind: %d", len(tmp))
	}
	// A failed verify leaves no snapshot.
	bad := key("bad")
	_, err = s.Unpack(ctx, bad, bytes.NewReader(layer), func() error { return errdefs.ErrDataLoss })
	if !errors.Is(err, errdefs.ErrDataLoss) || s.Exists(bad) {
		t.Errorf("Unpack with failing verify: err %v, exists %v; want ErrDataLoss and no snapshot", err, s.Exists(bad))
	}
	// A hostile layer leaves no snapshot either.
	_, err = s.Unpack(ctx, bad, bytes.NewReader(mkTar(t, file("../x", "x"))), nil)
	if err == nil || s.Exists(bad) {
		t.Errorf("hostile Unpack: err %v, exists %v", err, s.Exists(bad))
	}
	if _, err := s.LowerDirs([]string{k, bad}); !errdefs.IsNotFound(err) {
		t.Errorf("LowerDirs with a missing layer: %v, want not found", err)
	}
	if err := s.Remove(k); err != nil || s.Exists(k) {
		t.Fatalf("Remove: %v, exists %v", err, s.Exists(k))
	}
	if err := s.Remove(k); err != nil {
		t.Errorf("second Remove: %v, want nil", err)
	}
	if _, err := s.Unpack(ctx, "md5:abc", bytes.NewReader(layer), nil); !errdefs.IsInvalidArgument(err) {
		t.Errorf("bad key: %v, want invalid argument", err)
	}
}

// FuzzApply feeds arbitrary tars to the applier: it must never panic and
// never write outside its root, whatever the entries say. Input
// minimization is slow here (each step unpacks into a fresh dir); run with
// -fuzzminimizetime=0 for long sessions.
func FuzzApply(f *testing.F) {
	if os.Geteuid() != 0 {
		f.Skip("needs root (mknod, chown)")
	}
	seeds := [][]ent{
		{file("a", "x"), dir("d"), file("d/b", "y")},
		{symlink("l", ".."), file("l/secret", "x")},
		{symlink("l", "/"), dir("l/etc")},
		{hardlink("h", "../secret")},
		{file("/abs", "x")},
		{dir("d"), whiteout("d", "x"), file("d/.wh..wh..opq", "")},
		{ent{name: "dev/c", typ: tar.TypeChar, mode: 0o600, major: 1, minor: 3}},
		{file("f", "1"), dir("f"), file("f/g", "2"), symlink("f", "g")},
	}
	for _, s := range seeds {
		f.Add(mkTar(f, s...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		base := t.TempDir()
		root := filepath.Join(base, "root")
		if err := os.Mkdir(root, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(base, "secret"), []byte("keep"), 0o644); err != nil {
			t.Fatal(err)
		}
		Apply(context.Background(), root, bytes.NewReader(data)) // errors are fine
		assertOutsideUntouched(t, base)
	})
}
