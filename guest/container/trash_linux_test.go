package container

import (
	"context"
	"os"
	"path/filepath"
	"testing"
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
