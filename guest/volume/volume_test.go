package volume

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	bolt "go.etcd.io/bbolt"

	"github.com/berth-dev/berth/guest/internal/testenv"
)

func newStore(t *testing.T) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, "meta.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := Open(filepath.Join(dir, "volumes"), db)
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

func TestCreateGetList(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	v, err := s.Create(ctx, CreateOptions{Name: "data", Labels: map[string]string{"a": "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if v.Driver != "local" || !strings.HasSuffix(v.Mountpoint, "/volumes/data/_data") || v.Anonymous {
		t.Fatalf("unexpected volume %+v", v)
	}
	if fi, err := os.Stat(v.Mountpoint); err != nil || !fi.IsDir() {
		t.Fatalf("mountpoint not a dir: %v", err)
	}
	// Creating again returns the same volume (docker's idempotent create).
	again, err := s.Create(ctx, CreateOptions{Name: "data"})
	if err != nil || !again.CreatedAt.Equal(v.CreatedAt) || again.Labels["a"] != "b" {
		t.Fatalf("second create: %+v, %v", again, err)
	}
	anon, err := s.Create(ctx, CreateOptions{})
	if err != nil || !anon.Anonymous || len(anon.Name) != 64 {
		t.Fatalf("anonymous: %+v, %v", anon, err)
	}
	vs, err := s.List(ctx)
	if err != nil || len(vs) != 2 {
		t.Fatalf("list: %d volumes, %v", len(vs), err)
	}
	if _, err := s.Get(ctx, "nope"); !errdefs.IsNotFound(err) {
		t.Fatalf("get missing: %v", err)
	}
}

func TestCreateBadInput(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	for _, tc := range []struct {
		name string
		o    CreateOptions
		want string
	}{
		{"slash", CreateOptions{Name: "a/b"}, "invalid characters"},
		{"one char", CreateOptions{Name: "a"}, "invalid characters"},
		{"dotdot", CreateOptions{Name: ".."}, "invalid characters"},
		{"driver", CreateOptions{Name: "x1", Driver: "nfs"}, "not supported"},
		{"opts", CreateOptions{Name: "x2", Options: map[string]string{"foo": "1"}}, "invalid option"},
		{"type only", CreateOptions{Name: "x3", Options: map[string]string{"type": "tmpfs"}}, "needs both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Create(ctx, tc.o)
			if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want invalid argument containing %q", err, tc.want)
			}
		})
	}
	if vs, _ := s.List(ctx); len(vs) != 0 {
		t.Fatalf("bad input stored %d volumes", len(vs))
	}
}

func TestRemoveAndPrune(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	inUse := map[string][]string{}
	s.SetUsage(func(name string) []string { return inUse[name] })
	named, _ := s.Create(ctx, CreateOptions{Name: "keep"})
	anon, _ := s.Create(ctx, CreateOptions{})
	busy, _ := s.Create(ctx, CreateOptions{Name: "busy"})
	inUse["busy"] = []string{"c1"}
	if err := os.WriteFile(filepath.Join(anon.Mountpoint, "f"), make([]byte, 1000), 0o644); err != nil {
		t.Fatal(err)
	}

	if err := s.Remove(ctx, busy.Name, true); !errdefs.IsConflict(err) || !strings.Contains(err.Error(), "volume is in use") {
		t.Fatalf("remove in-use volume: %v", err)
	}
	if err := s.Remove(ctx, "missing", false); !errdefs.IsNotFound(err) {
		t.Fatalf("remove missing: %v", err)
	}
	if err := s.Remove(ctx, "missing", true); err != nil {
		t.Fatalf("remove -f missing: %v", err)
	}

	deleted, freed, err := s.Prune(ctx, false, nil)
	if err != nil || len(deleted) != 1 || deleted[0] != anon.Name || freed != 1000 {
		t.Fatalf("prune anonymous: %v %d %v", deleted, freed, err)
	}
	if _, err := os.Stat(filepath.Dir(anon.Mountpoint)); !os.IsNotExist(err) {
		t.Fatalf("pruned volume dir still there: %v", err)
	}
	deleted, _, err = s.Prune(ctx, true, nil)
	if err != nil || len(deleted) != 1 || deleted[0] != named.Name {
		t.Fatalf("prune all: %v %v", deleted, err)
	}
	if _, err := s.Get(ctx, "busy"); err != nil {
		t.Fatalf("in-use volume was pruned: %v", err)
	}
}

func TestMountOptionsTmpfs(t *testing.T) {
	testenv.RequiresRoot(t)
	ctx := context.Background()
	s, _ := newStore(t)
	v, err := s.Create(ctx, CreateOptions{Name: "scratch", Options: map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}})
	if err != nil {
		t.Fatal(err)
	}
	p1, err := s.Mount(v)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Mount(v); err != nil {
		t.Fatal(err)
	}
	// size=1m: writing 2 MiB must fail, proving the tmpfs is mounted.
	if err := os.WriteFile(filepath.Join(p1, "big"), make([]byte, 2<<20), 0o644); err == nil {
		t.Fatal("wrote 2 MiB into a 1 MiB tmpfs volume: not mounted")
	}
	s.Unmount(v)
	if !isMounted(t, p1) {
		t.Fatal("unmounted while still referenced")
	}
	s.Unmount(v)
	if isMounted(t, p1) {
		t.Fatal("still mounted after the last unmount")
	}
}

func isMounted(t *testing.T, p string) bool {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(data), " "+p+" ")
}
