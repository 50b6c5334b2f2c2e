package image

import (
	"context"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berth-dev/berth/guest/internal/testenv"
)

// buildChain derives base <- mid <- top as a build's steps would, each
// config one history entry longer than its parent's.
func buildChain(t *testing.T, s *Store, files string) (base, mid, top *Image) {
	t.Helper()
	ctx := context.Background()
	hist := func(n int) *v1.ConfigFile {
		cf := &v1.ConfigFile{OS: "linux", Architecture: "amd64"}
		for i := 0; i < n; i++ {
			cf.History = append(cf.History, v1.History{CreatedBy: "step", EmptyLayer: i == 1})
		}
		return cf
	}
	var err error
	if base, err = s.Derive(ctx, "", layerFile(t, map[string]string{"a": files}), hist(1)); err != nil {
		t.Fatal(err)
	}
	if mid, err = s.Derive(ctx, base.ID, "", hist(2)); err != nil {
		t.Fatal(err)
	}
	if top, err = s.Derive(ctx, mid.ID, layerFile(t, map[string]string{"b": files}), hist(3)); err != nil {
		t.Fatal(err)
	}
	return base, mid, top
}

func has(s *Store, id string) bool {
	_, err := s.Get(context.Background(), id)
	return err == nil
}

// TestParentsGoWithLastChild: a build's untagged steps are not dangling
// (prune keeps them: they are the cache), show in history, and go when
// their last child is removed, unless --no-prune.
func TestParentsGoWithLastChild(t *testing.T) {
	testenv.RequiresRoot(t)
	ctx := context.Background()
	s, _ := newStore(t)
	base, mid, top := buildChain(t, s, "1")
	other, err := s.Derive(ctx, base.ID, layerFile(t, map[string]string{"c": "3"}), &v1.ConfigFile{OS: "linux", Architecture: "amd64"})
	if err != nil {
		t.Fatal(err)
	}
	for img, name := range map[*Image]string{top: "x/top:1", other: "x/other:1"} {
		if _, _, err := s.Tag(ctx, img.ID, name); err != nil {
			t.Fatal(err)
		}
	}
	if items, _, err := s.Prune(ctx, false, nil); err != nil || len(items) != 0 {
		t.Errorf("prune of dangling images removed a build's steps: %+v %v", items, err)
	}
	hist, err := s.History(ctx, "x/top:1")
	if err != nil || len(hist) != 3 || hist[0].ID != top.ID || hist[1].ID != mid.ID || hist[2].ID != base.ID {
		t.Errorf("history ids = %+v, %v; want top, mid, base", hist, err)
	}

	items, err := s.Remove(ctx, "x/top:1", RemoveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var deleted []string
	for _, it := range items {
		if it.Deleted != "" {
			deleted = append(deleted, it.Deleted)
		}
	}
	if len(deleted) != 2 || deleted[0] != top.ID || deleted[1] != mid.ID {
		t.Errorf("rmi x/top:1 deleted %v, want top then mid (base still has a child)", deleted)
	}
	if !has(s, base.ID) || has(s, mid.ID) {
		t.Errorf("after rmi: base kept=%v, mid kept=%v", has(s, base.ID), has(s, mid.ID))
	}
	if _, err := s.Remove(ctx, "x/other:1", RemoveOptions{}); err != nil || has(s, base.ID) {
		t.Errorf("rmi of base's last child left base (%v)", err)
	}

	base2, mid2, top2 := buildChain(t, s, "2")
	if _, err := s.Remove(ctx, mid2.ID, RemoveOptions{Force: true}); !errdefs.IsConflict(err) || !strings.Contains(err.Error(), "dependent child images") {
		t.Errorf("rmi of a parent by id: %v, want docker's conflict", err)
	}
	s.Tag(ctx, mid2.ID, "x/mid:1")
	if items, err := s.Remove(ctx, "x/mid:1", RemoveOptions{}); err != nil || len(items) != 1 || !has(s, mid2.ID) {
		t.Errorf("rmi of a parent's tag = %+v, %v; want it untagged and kept", items, err)
	}
	s.Tag(ctx, top2.ID, "x/keep:1")
	s.Remove(ctx, "x/keep:1", RemoveOptions{NoPrune: true})
	if has(s, top2.ID) || !has(s, mid2.ID) {
		t.Error("rmi --no-prune: the image must go and its parent stay")
	}
	s.Tag(ctx, base2.ID, "x/base:1") // a tagged parent goes with prune -a once its children are gone
	if items, _, err := s.Prune(ctx, true, nil); err != nil || has(s, base2.ID) || len(items) == 0 {
		t.Errorf("prune -a left images: %+v %v", items, err)
	}
}
