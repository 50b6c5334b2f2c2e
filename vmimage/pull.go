package vmimage

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Pull fetches the VM image artifact ref (as Push wrote it) into
// root/<12 hex of its digest> and returns that directory. The files are
// written to a temp dir, checked against manifest.json's digests, and
// renamed into place, so a directory that exists is always complete; a
// second Pull of the same artifact reuses it.
func Pull(ctx context.Context, ref, root string, opts ...remote.Option) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("VM image %q is neither a directory nor an image reference: %w", ref, err)
	}
	img, err := remote.Image(r, append(opts, remote.WithContext(ctx))...)
	if err != nil {
		return "", fmt.Errorf("fetch VM image %s: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, d.Hex[:12])
	if _, err := ReadManifest(dir); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(root, ".pull-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if err := writeLayers(img, tmp); err != nil {
		return "", fmt.Errorf("fetch VM image %s: %w", ref, err)
	}
	m, err := ReadManifest(tmp)
	if err != nil {
		return "", fmt.Errorf("VM image %s: %w", ref, err)
	}
	if err := m.Verify(tmp); err != nil {
		return "", fmt.Errorf("VM image %s: %w", ref, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", err
	}
	return dir, nil
}

// writeLayers writes each layer to the file its title annotation names.
func writeLayers(img v1.Image, dir string) error {
	mf, err := img.Manifest()
	if err != nil {
		return err
	}
	if len(mf.Layers) == 0 {
		return fmt.Errorf("the artifact has no files (not a berth VM image?)")
	}
	for _, desc := range mf.Layers {
		title := desc.Annotations[titleAnnotation]
		if title == "" || title != filepath.Base(title) || strings.HasPrefix(title, ".") {
			return fmt.Errorf("artifact layer %s has no usable file name (%q)", desc.Digest, title)
		}
		l, err := img.LayerByDigest(desc.Digest)
		if err != nil {
			return err
		}
		if err := writeLayer(l, filepath.Join(dir, title)); err != nil {
			return err
		}
	}
	return nil
}

func writeLayer(l v1.Layer, path string) error {
	rc, err := l.Compressed() // stored as is: the bytes are the file
	if err != nil {
		return err
	}
	defer rc.Close()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, rc); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
