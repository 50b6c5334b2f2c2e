package image

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/berth-dev/berth/guest/internal/testenv"
)

func TestPull(t *testing.T) {
	testenv.RequiresRoot(t)
	ctx := context.Background()
	reg := newRegistry(t)
	base := busyboxLayer(t)
	app := buildImage(t, "", map[string]string{"org.example": "app"}, base,
		tarLayer(t, map[string]string{"etc/app.conf": "port=80\n", "usr/share/app/data": strings.Repeat("data", 1000)}))
	other := buildImage(t, "", nil, base, tarLayer(t, map[string]string{"etc/other": "x"}))
	push(t, reg+"/test/app:v1", app)
	push(t, reg+"/test/other:latest", other)
	s, _ := newStore(t)

	var log1 progressLog
	img, err := s.Pull(ctx, reg+"/test/app:v1", WithProgress(log1.add))
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if want := configName(t, app); img.ID != want {
		t.Errorf("image id %s, want the config digest %s", img.ID, want)
	}
	baseDigest, _ := base.Digest()
	short := baseDigest.Hex[:12]
	for _, st := range []string{"Pulling fs layer", "Downloading", "Verifying Checksum", "Download complete", "Extracting", "Pull complete"} {
		if !log1.has(short, st) {
			t.Errorf("no %q progress for layer %s; got:\n%s", st, short, &log1)
		}
	}
	wantRef := reg + "/test/app:v1"
	if !log1.has("", "Digest: sha256:") || !log1.has("", "Status: Downloaded newer image for "+wantRef) || !log1.has("v1", "Pulling from test/app") {
		t.Errorf("missing summary lines; got:\n%s", &log1)
	}
	if len(img.RepoTags) != 1 || img.RepoTags[0] != wantRef || len(img.RepoDigests) != 1 {
		t.Errorf("RepoTags %v RepoDigests %v, want [%s] and one digest", img.RepoTags, img.RepoDigests, wantRef)
	}
	if img.Labels["org.example"] != "app" || img.Size < 1000 || len(img.ChainIDs) != 2 {
		t.Errorf("record: labels %v size %d chain ids %v", img.Labels, img.Size, img.ChainIDs)
	}
	// The unpacked busybox is the real one.
	dirs, err := s.Snapshots().LowerDirs(img.ChainIDs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dirs[1], "bin/busybox"))
	want, _ := os.ReadFile("/bin/busybox")
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("bin/busybox in the base snapshot differs from /bin/busybox (%v)", err)
	}
	if b, err := os.ReadFile(filepath.Join(dirs[0], "etc/app.conf")); err != nil || string(b) != "port=80\n" {
		t.Errorf("etc/app.conf = %q, %v", b, err)
	}
	for _, l := range img.Layers {
		h, _ := v1.NewHash(l.Digest)
		if err := s.Content().Verify(h); err != nil {
			t.Errorf("blob: %v", err)
		}
	}

	var log2 progressLog
	if _, err := s.Pull(ctx, reg+"/test/app:v1", WithProgress(log2.add)); err != nil {
		t.Fatalf("second Pull: %v", err)
	}
	if !log2.has(short, "Already exists") || !log2.has("", "Status: Image is up to date for "+wantRef) {
		t.Errorf("re-pull progress:\n%s", &log2)
	}

	var log3 progressLog
	if _, err := s.Pull(ctx, reg+"/test/other", WithProgress(log3.add)); err != nil {
		t.Fatalf("Pull other: %v", err)
	}
	if !log3.has(short, "Already exists") || !log3.has("*", "Pull complete") {
		t.Errorf("pull sharing a layer should say Already exists for it:\n%s", &log3)
	}
	if n, _ := s.Count(ctx); n != 2 {
		t.Errorf("Count = %d, want 2", n)
	}
}

func TestPullErrors(t *testing.T) {
	ctx := context.Background()
	reg := newRegistry(t)
	push(t, reg+"/test/one:latest", buildImage(t, "", nil, tarLayer(t, map[string]string{"f": "x"})))
	// An address nothing listens on: a port we bound and closed.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := l.Addr().String()
	l.Close()
	s, _ := newStore(t)
	tests := []struct {
		name     string
		ref      string
		platform string
		is       func(error) bool
		msg      string
	}{
		{"registry down", down + "/x/y:1", "", errdefs.IsUnavailable, "registry " + down + " is unreachable"},
		{"uppercase", reg + "/Test/One", "", errdefs.IsInvalidArgument, "invalid reference format"},
		{"space", "busy box", "", errdefs.IsInvalidArgument, "invalid reference format"},
		{"empty tag", "busybox:", "", errdefs.IsInvalidArgument, "invalid reference format"},
		{"empty", "", "", errdefs.IsInvalidArgument, "empty image reference"},
		{"unknown tag", reg + "/test/one:nope", "", errdefs.IsNotFound, "manifest for " + reg + "/test/one:nope not found"},
		{"unknown repo", reg + "/test/none", "", errdefs.IsNotFound, "test/none"},
		{"wrong platform", reg + "/test/one", "linux/s390x", errdefs.IsNotFound, "linux/s390x"},
		{"bad platform", reg + "/test/one", "linux", errdefs.IsInvalidArgument, "invalid platform"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Pull(ctx, tt.ref, WithPlatform(tt.platform))
			if err == nil || !tt.is(err) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Pull(%q) error = %v; want kind %s with %q", tt.ref, err, funcName(tt.is), tt.msg)
			}
		})
	}
	if n, _ := s.Count(ctx); n != 0 {
		t.Errorf("failed pulls stored %d images", n)
	}
}

func funcName(f func(error) bool) string {
	for name, g := range map[string]func(error) bool{"NotFound": errdefs.IsNotFound, "InvalidArgument": errdefs.IsInvalidArgument, "Unavailable": errdefs.IsUnavailable} {
		if g(errdefs.ErrUnknown) == f(errdefs.ErrUnknown) && g(errdefs.ErrNotFound) == f(errdefs.ErrNotFound) && g(errdefs.ErrInvalidArgument) == f(errdefs.ErrInvalidArgument) && g(errdefs.ErrUnavailable) == f(errdefs.ErrUnavailable) {
			return name
		}
	}
	return "?"
}

func TestPullPlatformFromIndex(t *testing.T) {
	testenv.RequiresRoot(t)
	ctx := context.Background()
	reg := newRegistry(t)
	amd := buildImage(t, "amd64", nil, tarLayer(t, map[string]string{"arch": "amd64"}))
	arm := buildImage(t, "arm64", nil, tarLayer(t, map[string]string{"arch": "arm64"}))
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}},
	)
	pushIndex(t, reg+"/multi/arch:1", idx)
	s, _ := newStore(t)
	for _, tt := range []struct{ platform, want string }{{"linux/arm64", configName(t, arm)}, {"linux/amd64", configName(t, amd)}} {
		img, err := s.Pull(ctx, reg+"/multi/arch:1", WithPlatform(tt.platform))
		if err != nil {
			t.Fatalf("Pull %s: %v", tt.platform, err)
		}
		if img.ID != tt.want || img.Platform != tt.platform && !strings.HasPrefix(img.Platform, tt.platform) {
			t.Errorf("platform %s: got image %s (%s), want %s", tt.platform, img.ID, img.Platform, tt.want)
		}
	}
	idxDigest, _ := idx.Digest()
	img, _ := s.Get(ctx, reg+"/multi/arch@"+idxDigest.String())
	if img == nil {
		t.Errorf("image not found by the index digest it was pulled by")
	}
}

func TestConcurrentPullsOfOneImage(t *testing.T) {
	testenv.RequiresRoot(t)
	ctx := context.Background()
	reg := newRegistry(t)
	img := buildImage(t, "", nil, busyboxLayer(t), tarLayer(t, map[string]string{"a": "1"}), tarLayer(t, map[string]string{"b": "2"}))
	push(t, reg+"/c/img:1", img)
	s, _ := newStore(t)
	errs := make(chan error, 3)
	for range 3 {
		go func() { _, err := s.Pull(ctx, reg+"/c/img:1"); errs <- err }()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent Pull: %v", err)
		}
	}
	got, err := s.Get(ctx, reg+"/c/img:1")
	if err != nil || got.ID != configName(t, img) {
		t.Fatalf("Get = %v, %v", got, err)
	}
	if _, err := s.Snapshots().LowerDirs(got.ChainIDs); err != nil {
		t.Errorf("layers: %v", err)
	}
	blobs, _ := s.Content().List()
	for _, b := range blobs {
		if err := s.Content().Verify(b); err != nil {
			t.Error(err)
		}
	}
	if len(blobs) != 5 {
		t.Errorf("%d blobs stored, want 5 (3 layers, config, manifest)", len(blobs))
	}
}
