package image

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berth-dev/berth/guest/internal/testenv"
)

// TestPushAndHistory: an image pulled from one registry, tagged for
// another, pushed there with docker's progress, pushed again (every layer
// already exists), read back by digest; history pairs entries with layers.
func TestPushAndHistory(t *testing.T) {
	testenv.RequiresRoot(t)
	ctx := context.Background()
	src, dst := newRegistry(t), newRegistry(t)
	app := buildImage(t, "", nil, busyboxLayer(t), tarLayer(t, map[string]string{"etc/app.conf": "port=80\n"}))
	app = withHistory(t, app,
		v1.History{CreatedBy: "/bin/sh -c #(nop) ADD file:abc in / "},
		v1.History{CreatedBy: "/bin/sh -c #(nop)  CMD [\"sh\"]", EmptyLayer: true},
		v1.History{CreatedBy: "/bin/sh -c echo port=80 > /etc/app.conf", Comment: "made by hand"})
	push(t, src+"/test/app:v1", app)
	s, _ := newStore(t)
	img, err := s.Pull(ctx, src+"/test/app:v1")
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	target := dst + "/mine/app:v2"
	if _, _, err := s.Tag(ctx, src+"/test/app:v1", target); err != nil {
		t.Fatalf("Tag: %v", err)
	}

	var log1 progressLog
	pushed, err := s.Push(ctx, target, false, WithProgress(log1.add))
	if err != nil {
		t.Fatalf("Push: %v", err)
	}
	if len(pushed) != 1 || pushed[0].Tag != "v2" || pushed[0].Digest != img.ManifestDigest || pushed[0].Size == 0 {
		t.Errorf("pushed %+v, want tag v2 with digest %s", pushed, img.ManifestDigest)
	}
	for _, l := range img.Layers {
		if id := shortID(l.Digest); !log1.has(id, "Preparing") || !log1.has(id, "Pushed") {
			t.Errorf("layer %s: no Preparing/Pushed progress:\n%s", id, &log1)
		}
	}
	r, _ := name.ParseReference(dst + "/mine/app@" + img.ManifestDigest)
	got, err := remote.Image(r)
	if err != nil {
		t.Fatalf("the registry does not have the pushed manifest: %v", err)
	}
	if id, _ := got.ConfigName(); id.String() != img.ID {
		t.Errorf("pushed config %s, want %s", id, img.ID)
	}
	if _, err := s.Pull(ctx, target); err != nil {
		t.Errorf("pull of the pushed image: %v", err)
	}

	var log2 progressLog
	if _, err := s.Push(ctx, target, false, WithProgress(log2.add)); err != nil {
		t.Fatalf("second Push: %v", err)
	}
	if !log2.has(shortID(img.Layers[0].Digest), "Layer already exists") {
		t.Errorf("second push should find the layers there:\n%s", &log2)
	}

	_, err = s.Push(ctx, dst+"/mine/nothing:v1", false)
	if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "does not exist locally with the tag") {
		t.Errorf("push of an unknown tag: %v, want NotFound with docker's message", err)
	}
	if _, err := s.Push(ctx, dst+"/mine/app", true); err != nil {
		t.Errorf("push --all-tags: %v", err)
	}

	hist, err := s.History(ctx, target)
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	if len(hist) != 3 || hist[0].ID != img.ID || hist[1].ID != "<missing>" ||
		hist[0].Comment != "made by hand" || hist[1].Size != 0 || hist[0].Size != 8 || hist[2].Size < 1000 {
		t.Errorf("history = %+v, want 3 entries newest first, sizes app.conf=8, CMD=0, busybox>1000", hist)
	}

	// Removing the repository's last tag takes its digest reference along,
	// as docker does; the other repository's names stay.
	items, err := s.Remove(ctx, target, RemoveOptions{})
	if err != nil || len(items) != 2 || !strings.HasPrefix(items[1].Untagged, dst+"/mine/app@sha256:") {
		t.Errorf("rmi %s = %+v, %v; want the tag and the repository's digest untagged", target, items, err)
	}
	left, _ := s.Get(ctx, img.ID)
	for _, d := range left.RepoDigests {
		if strings.HasPrefix(d, dst) {
			t.Errorf("digest reference %s left after its last tag went", d)
		}
	}
	if len(left.RepoTags) != 1 || len(left.RepoDigests) != 1 {
		t.Errorf("the source repository's names changed: %v %v", left.RepoTags, left.RepoDigests)
	}
}

func withHistory(t *testing.T, img v1.Image, h ...v1.History) v1.Image {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	for i := range h {
		h[i].Created = v1.Time{Time: time.Date(2024, 1, 2, 3, 4, 5+i, 0, time.UTC)}
	}
	cf.History = h
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
