package vmimage

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestPush(t *testing.T) {
	out := t.TempDir()
	tr := newTree()
	tr.addFile("/init", 0o755, []byte("agent"))
	m := Manifest{Version: "v9", Arch: "arm64", Kernel: KernelFile, Initramfs: InitramfsFile,
		KernelFormat: "Image", Digests: map[string]string{}}
	if err := writeOutputs(Options{Out: out}, tr, []byte("kernel image"), &m); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/berth/vmimage:v9-arm64"
	d, err := Push(context.Background(), out, ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(mustRef(t, ref))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := img.Digest(); got != d {
		t.Fatalf("pulled digest %s, pushed %s", got, d)
	}
	mf, _ := img.Manifest()
	if len(mf.Layers) != 3 {
		t.Fatalf("%d layers, want manifest, kernel, initramfs", len(mf.Layers))
	}
	byTitle := map[string]string{}
	for _, l := range mf.Layers {
		byTitle[l.Annotations[titleAnnotation]] = "sha256:" + l.Digest.Hex
	}
	for _, f := range []string{KernelFile, InitramfsFile} {
		if byTitle[f] != m.Digests[f] {
			t.Errorf("layer %s has digest %s, manifest.json says %s", f, byTitle[f], m.Digests[f])
		}
	}
	ls, _ := img.Layers()
	rc, _ := ls[1].Uncompressed()
	b, _ := io.ReadAll(rc)
	if string(b) != "kernel image" {
		t.Fatalf("kernel layer = %q", b)
	}
	cf, _ := img.ConfigFile()
	if cf.Architecture != "arm64" {
		t.Fatalf("config architecture %q", cf.Architecture)
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestPull: what Push wrote comes back as a complete image dir (verified
// against manifest.json), a second Pull reuses it, a bad reference is a
// clear error.
func TestPull(t *testing.T) {
	out := t.TempDir()
	tr := newTree()
	tr.addFile("/init", 0o755, []byte("agent"))
	m := Manifest{Version: "v9", Arch: "amd64", Kernel: KernelFile, Initramfs: InitramfsFile,
		KernelFormat: "bzImage", Digests: map[string]string{}}
	if err := writeOutputs(Options{Out: out}, tr, []byte("kernel image"), &m); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/berth/vmimage:v9-amd64"
	if _, err := Push(context.Background(), out, ref); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	dir, err := Pull(context.Background(), ref, root)
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	got, err := ReadManifest(dir)
	if err != nil || got.Version != "v9" || got.Verify(dir) != nil {
		t.Fatalf("pulled dir %s: manifest %+v, %v", dir, got, err)
	}
	if again, err := Pull(context.Background(), ref, root); err != nil || again != dir {
		t.Errorf("second Pull = %s, %v; want %s", again, err, dir)
	}
	if _, err := Pull(context.Background(), "not a ref!", root); err == nil || !strings.Contains(err.Error(), "neither a directory nor an image reference") {
		t.Errorf("bad reference: %v", err)
	}
}
