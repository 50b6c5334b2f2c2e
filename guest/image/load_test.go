package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/klauspost/compress/gzip"

	"github.com/berth-dev/berth/guest/internal/testenv"
)

// tarFiles lists a tarball's file names and reads the small ones.
func tarFiles(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		out[hdr.Name] = data
	}
}

// state is what a failed load must not change.
func state(t *testing.T, s *Store) string {
	t.Helper()
	n, _ := s.Count(context.Background())
	snaps, _ := s.Snapshots().List()
	blobs, _ := s.Content().List()
	var bs []string
	for _, b := range blobs {
		bs = append(bs, b.String())
	}
	sort.Strings(snaps)
	sort.Strings(bs)
	return strings.Join(append(append([]string{string(rune('0' + n))}, snaps...), bs...), ",")
}

func TestSaveLoadRoundTrip(t *testing.T) {
	testenv.RequiresRoot(t)
	ctx := context.Background()
	reg := newRegistry(t)
	app := buildImage(t, "", nil, busyboxLayer(t), tarLayer(t, map[string]string{"etc/app": "v1"}))
	push(t, reg+"/t/app:1", app)
	s1, _ := newStore(t)
	if _, err := s1.Pull(ctx, reg+"/t/app:1"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s1.Save(ctx, []string{reg + "/t/app:1"}, &buf); err != nil {
		t.Fatalf("Save: %v", err)
	}
	files := tarFiles(t, buf.Bytes())
	var man []dockerManifestEntry
	if err := json.Unmarshal(files["manifest.json"], &man); err != nil || len(man) != 1 || len(man[0].RepoTags) != 1 || man[0].RepoTags[0] != reg+"/t/app:1" {
		t.Fatalf("manifest.json = %s (%v)", files["manifest.json"], err)
	}
	for _, p := range append([]string{man[0].Config, "oci-layout"}, man[0].Layers...) {
		if _, ok := files[p]; !ok {
			t.Errorf("saved tar lacks %s", p)
		}
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(files["index.json"]))
	if err != nil || len(idx.Manifests) != 1 || idx.Manifests[0].Annotations[annotationContainerName] != reg+"/t/app:1" || idx.Manifests[0].Annotations[annotationRefName] != "1" {
		t.Fatalf("index.json = %s (%v)", files["index.json"], err)
	}

	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(buf.Bytes())
	zw.Close()
	for name, data := range map[string][]byte{"plain": buf.Bytes(), "gzip": gz.Bytes()} {
		t.Run(name, func(t *testing.T) {
			s2, _ := newStore(t)
			loaded, err := s2.Load(ctx, bytes.NewReader(data))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if len(loaded) != 1 || loaded[0].ID != configName(t, app) || len(loaded[0].Tags) != 1 || loaded[0].Tags[0] != reg+"/t/app:1" {
				t.Fatalf("Load = %+v, want %s tagged %s/t/app:1", loaded, configName(t, app), reg)
			}
			img, err := s2.Get(ctx, reg+"/t/app:1")
			if err != nil {
				t.Fatal(err)
			}
			dirs, err := s2.Snapshots().LowerDirs(img.ChainIDs)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(filepath.Join(dirs[1], "bin/busybox"))
			want, _ := os.ReadFile("/bin/busybox")
			if !bytes.Equal(got, want) {
				t.Errorf("loaded bin/busybox differs")
			}
		})
	}
}

func TestLoadFormats(t *testing.T) {
	testenv.RequiresRoot(t)
	ctx := context.Background()
	app := buildImage(t, "", nil, tarLayer(t, map[string]string{"a": "1"}), tarLayer(t, map[string]string{"b": "2"}))
	want := configName(t, app)
	tag, _ := name.NewTag("example.com/ggcr/app:v3")

	var ggcrTar bytes.Buffer
	if err := tarball.Write(tag, app, &ggcrTar); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		data    []byte
		wantTag string
	}{
		{"ggcr tarball.Write", ggcrTar.Bytes(), "example.com/ggcr/app:v3"},
		{"uncompressed docker archive", legacyArchive(t, app, nil), "docker.io/library/legacy:1"},
		{"OCI layout", ociLayoutTar(t, app), "docker.io/library/oci:2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newStore(t)
			loaded, err := s.Load(ctx, bytes.NewReader(tt.data))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if len(loaded) != 1 || loaded[0].ID != want || len(loaded[0].Tags) != 1 || loaded[0].Tags[0] != tt.wantTag {
				t.Fatalf("Load = %+v, want %s tagged %s", loaded, want, tt.wantTag)
			}
			img, err := s.Get(ctx, tt.wantTag)
			if err != nil {
				t.Fatal(err)
			}
			if dirs, err := s.Snapshots().LowerDirs(img.ChainIDs); err != nil || len(dirs) != 2 {
				t.Errorf("layers not unpacked: %v %v", dirs, err)
			}
		})
	}
}

func TestLoadBadTarballsChangeNothing(t *testing.T) {
	testenv.RequiresRoot(t)
	ctx := context.Background()
	app := buildImage(t, "", nil, tarLayer(t, map[string]string{"a": "1"}), tarLayer(t, map[string]string{"b": strings.Repeat("b", 100000)}))
	good := legacyArchive(t, app, nil)
	s, _ := newStore(t)
	other := buildImage(t, "", nil, tarLayer(t, map[string]string{"keep": "me"}))
	var keep bytes.Buffer
	tarball.Write(name.MustParseReference("keep:1").(name.Tag), other, &keep)
	if _, err := s.Load(ctx, &keep); err != nil {
		t.Fatal(err)
	}
	before := state(t, s)
	badDiff := legacyArchive(t, app, func(cf *v1.ConfigFile) { cf.RootFS.DiffIDs[1] = cf.RootFS.DiffIDs[0] })
	tests := []struct {
		name string
		data []byte
		msg  string
	}{
		{"truncated", good[:len(good)/2], "truncated"},
		{"empty", nil, "neither manifest.json"},
		{"not a tar", []byte(strings.Repeat("garbage!", 200)), "invalid image tarball"},
		{"layer not matching its diff id", badDiff, "hashes to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Load(ctx, bytes.NewReader(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Load error %v, want one containing %q", err, tt.msg)
			}
			if tt.name != "layer not matching its diff id" && !errdefs.IsInvalidArgument(err) {
				t.Errorf("error kind: %v, want invalid argument", err)
			}
			if after := state(t, s); after != before {
				t.Errorf("a failed load changed the store:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// legacyArchive writes a docker archive as docker save did before 25:
// uncompressed <id>/layer.tar files, tagged legacy:1. edit may alter the
// config first.
func legacyArchive(t *testing.T, img v1.Image, edit func(*v1.ConfigFile)) []byte {
	t.Helper()
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	if edit != nil {
		edit(cf)
	}
	rawCfg, _ := json.Marshal(cf)
	layers, _ := img.Layers()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, b []byte) {
		tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(b))})
		tw.Write(b)
	}
	entry := dockerManifestEntry{Config: "config.json", RepoTags: []string{"legacy:1"}}
	add("config.json", rawCfg)
	for i, l := range layers {
		rc, _ := l.Uncompressed()
		b, _ := io.ReadAll(rc)
		p := string(rune('a'+i)) + "/layer.tar"
		add(p, b)
		entry.Layers = append(entry.Layers, p)
	}
	mb, _ := json.Marshal([]dockerManifestEntry{entry})
	add("manifest.json", mb)
	tw.Close()
	return buf.Bytes()
}

// ociLayoutTar writes img as a tarred OCI layout named oci:2.
func ociLayoutTar(t *testing.T, img v1.Image) []byte {
	t.Helper()
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{annotationRefName: "docker.io/library/oci:2"})); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		b, _ := os.ReadFile(path)
		tw.WriteHeader(&tar.Header{Name: rel, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(b))})
		tw.Write(b)
		return nil
	})
	tw.Close()
	return buf.Bytes()
}
