//go:build linux

package main

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	busyboxRef = "benchvm/busybox:1"
	bigRef     = "benchvm/big:1"
)

// loadBusybox loads an image of the host's static busybox into machine m.
func (e *env) loadBusybox(ctx context.Context, m string) error {
	path := filepath.Join(e.tmp, "busybox.tar")
	if _, err := os.Stat(path); err != nil {
		im, err := busyboxImage()
		if err != nil {
			return err
		}
		if err := writeImage(path, busyboxRef, im); err != nil {
			return err
		}
	}
	_, err := e.must(ctx, "--machine", m, "load", "-i", path)
	return err
}

func busyboxImage() (v1.Image, error) {
	b, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return nil, fmt.Errorf("%w (apt-get install busybox-static)", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(b))})
	tw.Write(b)
	for _, a := range []string{"sh", "true", "cat", "grep", "echo", "sleep"} {
		tw.WriteHeader(&tar.Header{Name: "bin/" + a, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777})
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		return nil, err
	}
	im, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		return nil, err
	}
	cf, err := im.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config.Env = []string{"PATH=/bin"}
	return mutate.ConfigFile(im, cf)
}

// bigImage is an image of one layer of sizeMB MiB of random (incompressible)
// data.
func bigImage(sizeMB int) (v1.Image, error) {
	l, err := random.Layer(int64(sizeMB)<<20, types.DockerLayer)
	if err != nil {
		return nil, err
	}
	return mutate.AppendLayers(empty.Image, l)
}

func writeImage(path, ref string, im v1.Image) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return err
	}
	return tarball.WriteToFile(path, tag, im)
}
