// Package testimage builds the small container images berth's tests run,
// offline: a layer holding Debian's static busybox (busybox-static), layers
// made of in-memory files or freshly built static Go programs, images that
// stack them, docker-archive tarballs for `berth load`, and in-memory
// registries on 127.0.0.1 to pull them from (plain, password-protected, or
// holding downloads at a gate). Host and guest tests share it
// (it sits outside both trees so that either may import it).
package testimage

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// ModTime is the time stamp of every entry, so that layers are reproducible.
var ModTime = time.Unix(1700000000, 0)

// File is one entry of a layer.
type File struct {
	// Name is the path without a leading slash; a trailing "/" makes a
	// directory.
	Name string
	Data []byte
	// Mode defaults to 0o644 for files, 0o755 for directories.
	Mode int64
	// Link makes the entry a symlink to Link.
	Link string
}

// Busybox is the path of the static busybox the images hold.
const Busybox = "/bin/busybox"

// BusyboxFiles are /bin/busybox (the host's static one), /bin/sh -> busybox,
// /tmp and /etc. The test skips when /bin/busybox is missing.
func BusyboxFiles(t testing.TB) []File {
	t.Helper()
	bb, err := os.ReadFile(Busybox)
	if err != nil {
		t.Skipf("test images need %s (apt-get install busybox-static): %v", Busybox, err)
	}
	return []File{
		{Name: "bin/"},
		{Name: "bin/busybox", Data: bb, Mode: 0o755},
		{Name: "bin/sh", Link: "busybox"},
		{Name: "tmp/", Mode: 0o1777},
		{Name: "etc/"},
	}
}

// Layer makes an uncompressed layer of files, in the order given.
func Layer(t testing.TB, files ...File) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.Name, Mode: f.Mode, ModTime: ModTime}
		switch {
		case f.Link != "":
			h.Typeflag, h.Linkname = tar.TypeSymlink, f.Link
			if h.Mode == 0 {
				h.Mode = 0o777
			}
		case strings.HasSuffix(f.Name, "/"):
			h.Typeflag = tar.TypeDir
			if h.Mode == 0 {
				h.Mode = 0o755
			}
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.Data))
			if h.Mode == 0 {
				h.Mode = 0o644
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Files turns a name -> content map into sorted files, parent directories
// first; a content starting with "->" is a symlink.
func Files(m map[string]string) []File {
	var out []File
	dirs := map[string]bool{}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for d := filepath.Dir(n); d != "."; d = filepath.Dir(d) {
			if !dirs[d] {
				dirs[d] = true
				out = append(out, File{Name: d + "/"})
			}
		}
		if to, ok := strings.CutPrefix(m[n], "->"); ok {
			out = append(out, File{Name: n, Link: to})
		} else {
			out = append(out, File{Name: n, Data: []byte(m[n]), Mode: 0o755})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return depth(out[i].Name) < depth(out[j].Name) })
	return out
}

func depth(n string) int { return strings.Count(strings.TrimSuffix(n, "/"), "/") }

// Image stacks layers on base (nil: an empty image) for linux on this
// machine's architecture, with Cmd ["sh"], PATH=/bin and a fixed creation
// time, then lets edit change the config.
func Image(t testing.TB, base v1.Image, edit func(*v1.ConfigFile), layers ...v1.Layer) v1.Image {
	t.Helper()
	if base == nil {
		base = empty.Image
	}
	img, err := mutate.AppendLayers(base, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	if cf.Created.IsZero() {
		cf.Created = v1.Time{Time: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}
	}
	if len(cf.Config.Cmd) == 0 && len(cf.Config.Entrypoint) == 0 {
		cf.Config.Cmd = []string{"sh"}
	}
	if len(cf.Config.Env) == 0 {
		cf.Config.Env = []string{"PATH=/bin"}
	}
	if edit != nil {
		edit(cf)
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// BusyboxImage is a one-layer busybox image holding extra files as well.
func BusyboxImage(t testing.TB, edit func(*v1.ConfigFile), extra ...File) v1.Image {
	t.Helper()
	return Image(t, nil, edit, Layer(t, append(BusyboxFiles(t), extra...)...))
}

// GoProgram builds the single-file Go program src as a static binary and
// returns it as a file of the image named name (mode 0755).
func GoProgram(t testing.TB, name, src string) File {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-o", "prog", "main.go")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GO111MODULE=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", name, err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "prog"))
	if err != nil {
		t.Fatal(err)
	}
	return File{Name: name, Data: b, Mode: 0o755}
}

// WriteArchive saves img as a docker-archive tarball tagged ref in a temp
// dir and returns its path, for `berth load -i`.
func WriteArchive(t testing.TB, ref string, img v1.Image) string {
	t.Helper()
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "image.tar")
	if err := tarball.WriteToFile(p, tag, img); err != nil {
		t.Fatalf("write %s: %v", p, err)
	}
	return p
}
