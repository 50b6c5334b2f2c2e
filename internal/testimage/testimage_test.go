package testimage

import (
	"archive/tar"
	"io"
	"runtime"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func entries(t *testing.T, l v1.Layer) map[string]*tar.Header {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out := map[string]*tar.Header{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = h
	}
}

func TestBusyboxImage(t *testing.T) {
	img := BusyboxImage(t, func(cf *v1.ConfigFile) { cf.Config.Labels = map[string]string{"k": "v"} },
		File{Name: "www/"}, File{Name: "www/index.html", Data: []byte("hi\n")})
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers %d, %v", len(layers), err)
	}
	e := entries(t, layers[0])
	if h := e["bin/sh"]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "busybox" {
		t.Errorf("bin/sh = %+v", h)
	}
	if h := e["bin/busybox"]; h == nil || h.Mode != 0o755 || h.Size < 1000 {
		t.Errorf("bin/busybox = %+v", h)
	}
	if h := e["tmp/"]; h == nil || h.Mode != 0o1777 {
		t.Errorf("tmp/ = %+v", h)
	}
	if h := e["www/index.html"]; h == nil || h.Mode != 0o644 || h.Size != 3 {
		t.Errorf("www/index.html = %+v", h)
	}
	cf, _ := img.ConfigFile()
	if cf.Architecture != runtime.GOARCH || cf.Config.Cmd[0] != "sh" || cf.Config.Labels["k"] != "v" || cf.Config.Env[0] != "PATH=/bin" {
		t.Errorf("config %+v", cf.Config)
	}
	p := WriteArchive(t, "test/bb:1", img)
	back, err := tarball.ImageFromPath(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := back.Digest()
	if d1 != d2 {
		t.Errorf("archive holds %s, want %s", d2, d1)
	}
}

func TestFilesOrder(t *testing.T) {
	got := Files(map[string]string{"a/b/c": "x", "a/l": "->b/c", "z": "y"})
	want := []string{"a/", "z", "a/b/", "a/l", "a/b/c"}
	if len(got) != len(want) {
		t.Fatalf("got %d files: %+v", len(got), got)
	}
	for i, f := range got {
		if f.Name != want[i] {
			t.Errorf("file %d = %s, want %s (parents before children)", i, f.Name, want[i])
		}
	}
	if got[3].Link != "b/c" {
		t.Errorf("a/l link = %q", got[3].Link)
	}
}
