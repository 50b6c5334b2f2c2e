package image

import (
	"context"
	"strings"
	"testing"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/guest/internal/testenv"
)

func ids(imgs []*Image) []string {
	var out []string
	for _, i := range imgs {
		out = append(out, i.ID)
	}
	return out
}

func TestTagRemovePrune(t *testing.T) {
	testenv.RequiresRoot(t)
	ctx := context.Background()
	reg := newRegistry(t)
	base := busyboxLayer(t)
	app := buildImage(t, "", map[string]string{"tier": "web"}, base, tarLayer(t, map[string]string{"app": "1"}))
	tool := buildImage(t, "", nil, base, tarLayer(t, map[string]string{"tool": "2"}))
	push(t, reg+"/t/app:1", app)
	push(t, reg+"/t/tool:1", tool)
	s, _ := newStore(t)
	appImg, err := s.Pull(ctx, reg+"/t/app:1")
	if err != nil {
		t.Fatal(err)
	}
	toolImg, err := s.Pull(ctx, reg+"/t/tool:1")
	if err != nil {
		t.Fatal(err)
	}

	if _, err := s.Get(ctx, "busybox"); !errdefs.IsNotFound(err) || err.Error() != "No such image: busybox:latest" {
		t.Errorf("Get(busybox) = %v, want docker's not found message", err)
	}
	if _, _, err := s.Tag(ctx, "nosuch", "x"); !errdefs.IsNotFound(err) {
		t.Errorf("Tag of unknown image: %v", err)
	}
	if _, _, err := s.Tag(ctx, reg+"/t/app:1", "x@"+appImg.ID); !errdefs.IsInvalidArgument(err) {
		t.Errorf("Tag to a digest: %v", err)
	}
	for _, target := range []string{reg + "/t/app:2", "other/name:x"} {
		if _, _, err := s.Tag(ctx, appImg.ID[7:19], target); err != nil {
			t.Fatalf("Tag %s: %v", target, err)
		}
	}
	if img, err := s.Get(ctx, "other/name:x"); err != nil || img.ID != appImg.ID || len(img.RepoTags) != 3 {
		t.Fatalf("Get(other/name:x) = %+v, %v", img, err)
	}

	// List and its filters.
	listTests := []struct {
		filters []string
		want    int
	}{
		{nil, 2}, {[]string{"label=tier=web"}, 1}, {[]string{"label=tier"}, 1}, {[]string{"label=tier=db"}, 0},
		{[]string{"reference=other/*"}, 1}, {[]string{"reference=" + reg + "/t/*:1"}, 2}, {[]string{"dangling=true"}, 0},
	}
	for _, tt := range listTests {
		got, err := s.List(ctx, ListOptions{Filters: tt.filters})
		if err != nil || len(got) != tt.want {
			t.Errorf("List(%v) = %v, %v; want %d images", tt.filters, ids(got), err, tt.want)
		}
	}
	if _, err := s.List(ctx, ListOptions{Filters: []string{"color=red"}}); !errdefs.IsInvalidArgument(err) {
		t.Errorf("List with an unknown filter: %v", err)
	}

	// By id, named in several repositories: must be forced.
	if _, err := s.Remove(ctx, appImg.ID, RemoveOptions{}); !errdefs.IsConflict(err) || !strings.Contains(err.Error(), "must be forced) - image is referenced in multiple repositories") {
		t.Errorf("rmi by id with several repos: %v", err)
	}
	// By name with other names left: untag only.
	items, err := s.Remove(ctx, "other/name:x", RemoveOptions{})
	if err != nil || len(items) != 1 || items[0].Untagged != "docker.io/other/name:x" {
		t.Errorf("rmi other/name:x = %+v, %v; want one untag", items, err)
	}
	// Used by a container: conflict, and with force only untagged.
	s.SetUsage(func(id string) int {
		if id == appImg.ID {
			return 1
		}
		return 0
	})
	if _, err := s.Remove(ctx, reg+"/t/app:2", RemoveOptions{}); err != nil {
		t.Errorf("rmi of a tag with another left: %v", err)
	}
	if _, err := s.Remove(ctx, reg+"/t/app:1", RemoveOptions{}); !errdefs.IsConflict(err) || !strings.Contains(err.Error(), "container is using its referenced image") {
		t.Errorf("rmi of an image in use: %v", err)
	}
	items, err = s.Remove(ctx, reg+"/t/app:1", RemoveOptions{Force: true})
	if err != nil || len(items) == 0 || items[len(items)-1].Deleted != "" {
		t.Errorf("rmi -f of an image in use = %+v, %v; want untagged, not deleted", items, err)
	}
	if d, _ := s.List(ctx, ListOptions{Filters: []string{"dangling=true"}}); len(d) != 1 || d[0].ID != appImg.ID {
		t.Errorf("dangling = %v, want the untagged app image", ids(d))
	}
	if got, _, _ := s.Prune(ctx, false, nil); len(got) != 0 {
		t.Errorf("prune removed an image in use: %+v", got)
	}
	s.SetUsage(nil)
	got, reclaimed, err := s.Prune(ctx, false, nil)
	if err != nil || len(got) == 0 || got[len(got)-1].Deleted != appImg.ID || reclaimed == 0 {
		t.Errorf("prune = %+v, %d, %v; want the app image deleted and space reclaimed", got, reclaimed, err)
	}
	// The shared base layer stays for tool.
	if _, err := s.Snapshots().LowerDirs(toolImg.ChainIDs); err != nil {
		t.Errorf("tool lost a layer when app was pruned: %v", err)
	}
	if _, err := s.Get(ctx, appImg.ID); !errdefs.IsNotFound(err) {
		t.Errorf("pruned image still there: %v", err)
	}

	items, err = s.Remove(ctx, reg+"/t/tool:1", RemoveOptions{})
	if err != nil || items[len(items)-1].Deleted != toolImg.ID {
		t.Errorf("rmi tool = %+v, %v; want deleted", items, err)
	}
	snaps, _ := s.Snapshots().List()
	blobs, _ := s.Content().List()
	if len(snaps) != 0 || len(blobs) != 0 {
		t.Errorf("after removing every image: %d snapshots and %d blobs left", len(snaps), len(blobs))
	}
}
