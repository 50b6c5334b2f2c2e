package container

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/guest/internal/testenv"
)

func TestDiscard(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	r := &Runtime{root: root}
	dir := filepath.Join(root, "c1")
	if err := os.MkdirAll(filepath.Join(dir, "upper", "work"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "state.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.discard(ctx, dir); err != nil {
		t.Fatalf("discard: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("state dir after discard: %v, want gone", err)
	}
	r.wg.Wait()
	ents, err := os.ReadDir(filepath.Join(root, trashDir))
	if err != nil || len(ents) != 0 {
		t.Fatalf("trash after the background deletion: %v %v, want empty", ents, err)
	}
	if err := r.discard(ctx, filepath.Join(root, "missing")); err != nil {
		t.Fatalf("discard of a missing dir: %v", err)
	}
	r.wg.Wait()
}

// TestEmptyTrashAtLoad checks that a runtime deletes what an earlier one
// left in the trash and does not take the trash for a container.
func TestEmptyTrashAtLoad(t *testing.T) {
	root := t.TempDir()
	left := filepath.Join(root, trashDir, "c1-123", "dir")
	if err := os.MkdirAll(left, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(left, "meta.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &Runtime{root: root, containers: map[string]*Container{}}
	if err := r.load(context.Background()); err != nil {
		t.Fatalf("load: %v", err)
	}
	r.wg.Wait()
	if len(r.containers) != 0 {
		t.Fatalf("load found containers %v in a root with only the trash", r.containers)
	}
	if _, err := os.Stat(filepath.Join(root, trashDir, "c1-123")); !os.IsNotExist(err) {
		t.Fatalf("trash entry after load: %v, want deleted", err)
	}
}

// TestTrashUnmountsRootfs checks that a state dir discarded (or left in the
// trash) with its rootfs still mounted is unmounted before its files are
// deleted, and that the files under the mount are not what gets deleted.
func TestTrashUnmountsRootfs(t *testing.T) {
	testenv.RequiresRoot(t)
	for _, tc := range []struct {
		name    string
		discard bool // else left in the trash for load
	}{{"discard", true}, {"load", false}} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "c1")
			if !tc.discard {
				dir = filepath.Join(root, trashDir, "c1-123", "dir")
			}
			rootfs := filepath.Join(dir, "rootfs")
			lower := filepath.Join(root, "lower")
			for _, d := range []string{rootfs, lower} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(lower, "keep"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := unix.Mount(lower, rootfs, "", unix.MS_BIND, ""); err != nil {
				t.Fatalf("bind mount: %v", err)
			}
			t.Cleanup(func() { unix.Unmount(rootfs, unix.MNT_DETACH) })
			r := &Runtime{root: root, containers: map[string]*Container{}}
			if tc.discard {
				if err := r.discard(context.Background(), dir); err != nil {
					t.Fatalf("discard: %v", err)
				}
			} else if err := r.load(context.Background()); err != nil {
				t.Fatalf("load: %v", err)
			}
			r.wg.Wait()
			ents, err := os.ReadDir(filepath.Join(root, trashDir))
			if err != nil || len(ents) != 0 {
				t.Fatalf("trash after the background deletion: %v %v, want empty", ents, err)
			}
			if _, err := os.Stat(filepath.Join(lower, "keep")); err != nil {
				t.Fatalf("file under the mount: %v, want kept (unmounted before the deletion)", err)
			}
			mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(root))
			if err != nil || len(mounts) != 0 {
				t.Fatalf("mounts under the root after the deletion: %d %v, want none", len(mounts), err)
			}
		})
	}
}

// TestHoldTrash checks that a discarded dir stays in the trash while a
// hold is in effect and is deleted once every hold is released.
func TestHoldTrash(t *testing.T) {
	root := t.TempDir()
	r := &Runtime{root: root}
	dir := filepath.Join(root, "c1")
	if err := os.MkdirAll(filepath.Join(dir, "upper"), 0o755); err != nil {
		t.Fatal(err)
	}
	release1, release2 := r.HoldTrash(), r.HoldTrash()
	if err := r.discard(context.Background(), dir); err != nil {
		t.Fatalf("discard: %v", err)
	}
	trash := filepath.Join(root, trashDir)
	for i, release := range []func(){release1, release1, release2} {
		ents, err := os.ReadDir(trash)
		if err != nil || len(ents) != 1 {
			t.Fatalf("trash before release %d: %v %v, want the discarded dir", i+1, ents, err)
		}
		release() // release1 twice: a second call must not count
	}
	r.wg.Wait()
	if ents, err := os.ReadDir(trash); err != nil || len(ents) != 0 {
		t.Fatalf("trash after the releases: %v %v, want empty", ents, err)
	}
}
