package image

import (
	"context"
	"io"
	"log"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	bolt "go.etcd.io/bbolt"

	"github.com/berth-dev/berth/internal/testimage"
)

// newStore opens a fresh image store in a temp dir.
func newStore(t testing.TB) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, "metadata.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := Open(context.Background(), dir, db)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s, dir
}

// newRegistry serves an in-memory registry on 127.0.0.1 and returns its
// host:port.
func newRegistry(t testing.TB) string { return testimage.Registry(t) }

// tarLayer builds a layer from files (name -> content; a content starting
// with "->" is a symlink).
func tarLayer(t testing.TB, files map[string]string) v1.Layer {
	return testimage.Layer(t, testimage.Files(files)...)
}

// busyboxLayer holds /bin/busybox (Debian's busybox-static) and /bin/sh.
func busyboxLayer(t testing.TB) v1.Layer { return testimage.Layer(t, testimage.BusyboxFiles(t)...) }

// buildImage stacks layers into a linux image for arch (default: this
// machine's).
func buildImage(t testing.TB, arch string, labels map[string]string, layers ...v1.Layer) v1.Image {
	return testimage.Image(t, nil, func(cf *v1.ConfigFile) {
		if arch != "" {
			cf.Architecture = arch
		}
		cf.Config.Cmd, cf.Config.Env, cf.Config.Labels = []string{"/bin/sh"}, nil, labels
	}, layers...)
}

func push(t testing.TB, ref string, img v1.Image) { testimage.Push(t, ref, img) }

func configName(t testing.TB, img v1.Image) string {
	t.Helper()
	h, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

// progressLog collects pull progress.
type progressLog struct{ lines []Progress }

func (p *progressLog) add(pr Progress) { p.lines = append(p.lines, pr) }

func (p *progressLog) has(id, status string) bool {
	for _, l := range p.lines {
		if (id == "*" || l.ID == id) && strings.HasPrefix(l.Status, status) {
			return true
		}
	}
	return false
}

func (p *progressLog) String() string {
	var b strings.Builder
	for _, l := range p.lines {
		b.WriteString(l.ID + " " + l.Status + "\n")
	}
	return b.String()
}

func nilLogger() *log.Logger { return log.New(io.Discard, "", 0) }

func pushIndex(t testing.TB, ref string, idx v1.ImageIndex) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
}
