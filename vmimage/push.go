package vmimage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Media types of the OCI artifact that carries an image: one layer per
// file, each annotated with its file name.
const (
	ArtifactType       = "application/vnd.berth.vmimage.v1"
	MediaTypeKernel    = "application/vnd.berth.vmimage.kernel.v1"
	MediaTypeInitramfs = "application/vnd.berth.vmimage.initramfs.v1+zstd"
	MediaTypeManifest  = "application/vnd.berth.vmimage.manifest.v1+json"
	titleAnnotation    = "org.opencontainers.image.title"
)

// Artifact returns the image in dir as an OCI artifact: manifest.json,
// the kernel and the initramfs as layers, the manifest also as config.
func Artifact(dir string) (v1.Image, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	if err := m.Verify(dir); err != nil {
		return nil, err
	}
	img, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{Architecture: m.Arch, OS: "linux",
		RootFS: v1.RootFS{Type: "layers"}})
	if err != nil {
		return nil, err
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.MediaType(ArtifactType+".config+json"))
	var adds []mutate.Addendum
	for _, f := range []struct{ name, mt string }{
		{ManifestFile, MediaTypeManifest}, {m.Kernel, MediaTypeKernel}, {m.Initramfs, MediaTypeInitramfs},
	} {
		b, err := os.ReadFile(filepath.Join(dir, f.name))
		if err != nil {
			return nil, err
		}
		adds = append(adds, mutate.Addendum{Layer: static.NewLayer(b, types.MediaType(f.mt)),
			Annotations: map[string]string{titleAnnotation: f.name}})
	}
	img, err = mutate.Append(img, adds...)
	if err != nil {
		return nil, err
	}
	return mutate.Annotations(img, map[string]string{"org.opencontainers.image.version": m.Version}).(v1.Image), nil
}

// Push pushes the image in dir to ref as an OCI artifact. opts carry
// authentication and transport (the caller picks the keychain).
func Push(ctx context.Context, dir, ref string, opts ...remote.Option) (v1.Hash, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("push %q: %w", ref, err)
	}
	img, err := Artifact(dir)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := remote.Write(r, img, append(opts, remote.WithContext(ctx))...); err != nil {
		return v1.Hash{}, fmt.Errorf("push %s: %w", ref, err)
	}
	return img.Digest()
}
