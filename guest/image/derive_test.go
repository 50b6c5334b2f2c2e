package image

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berth-dev/berth/guest/internal/testenv"
)

// layerFile writes an uncompressed layer tar holding files.
func layerFile(t *testing.T, files map[string]string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "layer.tar")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(f)
	for name, content := range files {
		tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(content))})
		tw.Write([]byte(content))
	}
	tw.Close()
	f.Close()
	return p
}

func TestDerive(t *testing.T) {
	testenv.RequiresRoot(t)
	ctx := context.Background()
	s, _ := newStore(t)
	cf := func(env string) *v1.ConfigFile {
		return &v1.ConfigFile{OS: "linux", Architecture: "amd64", Config: v1.Config{Env: []string{env}}}
	}
	base, err := s.Derive(ctx, "", layerFile(t, map[string]string{"a": "1"}), cf("A=1"))
	if err != nil {
		t.Fatal(err)
	}
	nop, err := s.Derive(ctx, base.ID, "", cf("A=2"))
	if err != nil {
		t.Fatal(err)
	}
	top, err := s.Derive(ctx, nop.ID, layerFile(t, map[string]string{"b": "2"}), cf("A=3"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		img    *Image
		parent string
		layers int
	}{{"base", base, "", 1}, {"config only", nop, base.ID, 1}, {"top", top, nop.ID, 2}} {
		t.Run(tc.name, func(t *testing.T) {
			img, rcf, err := s.Resolve(ctx, tc.img.ID)
			if err != nil {
				t.Fatal(err)
			}
			if img.Parent != tc.parent || len(img.ChainIDs) != tc.layers || len(rcf.RootFS.DiffIDs) != tc.layers || len(img.Layers) != tc.layers {
				t.Errorf("parent %q chain %v diffIDs %v", img.Parent, img.ChainIDs, rcf.RootFS.DiffIDs)
			}
			if _, err := s.Snapshots().LowerDirs(img.ChainIDs); err != nil {
				t.Errorf("snapshots: %v", err)
			}
		})
	}
	lowers, err := s.Snapshots().LowerDirs(top.ChainIDs)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(lowers[0], "b")); err != nil || string(b) != "2" {
		t.Errorf("top layer's file b: %q %v", b, err)
	}
	// The stored manifest and blobs make a complete image: save reads them all.
	if err := s.Save(ctx, []string{top.ID}, io.Discard); err != nil {
		t.Errorf("save of a derived image: %v", err)
	}
	if _, err := s.GC(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Snapshots().LowerDirs(top.ChainIDs); err != nil {
		t.Errorf("GC removed a derived image's layer: %v", err)
	}
	if _, err := s.Derive(ctx, "sha256:0123456789abcdef", "", cf("A=4")); err == nil {
		t.Error("Derive from an unknown parent must fail")
	}
}
