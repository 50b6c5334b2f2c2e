package image

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// OCI annotations naming an image in index.json.
const (
	annotationRefName       = "org.opencontainers.image.ref.name"
	annotationContainerName = "io.containerd.image.name"
)

// Loaded is an image that Load imported, with the names it got.
type Loaded struct {
	ID   string
	Tags []string
}

// Load imports the images of a tarball read from r: a docker archive
// (manifest.json), an OCI layout (index.json), both at once as Docker 25+
// writes them, gzip- or zstd-compressed or not. The tarball is spooled to
// disk and checked whole first; a corrupt or truncated one fails with one
// ErrInvalidArgument error and leaves the store as it was.
func (s *Store) Load(ctx context.Context, r io.Reader) ([]Loaded, error) {
	f, err := os.CreateTemp(s.tmp, "load-*.tar")
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	dr, closeDec, err := decompress(r)
	if err != nil {
		return nil, badArchive("%v", err)
	}
	_, err = io.Copy(f, dr)
	closeDec()
	if err != nil {
		return nil, badArchive("read tarball: %v", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	a, err := indexArchive(f)
	if err != nil {
		return nil, err
	}
	var pis []*pendingImage
	switch {
	case a.has("index.json"):
		pis, err = ociImages(a)
	case a.has("manifest.json"):
		pis, err = dockerImages(a)
	default:
		err = badArchive("neither manifest.json (docker save) nor index.json (OCI layout) found")
	}
	if err != nil {
		return nil, err
	}
	var out []Loaded
	for _, pi := range pis {
		if _, err := s.storeImage(ctx, pi, func(Progress) {}); err != nil {
			// Drop what this load stored before failing.
			if _, gcErr := s.GC(context.WithoutCancel(ctx)); gcErr != nil {
				return nil, fmt.Errorf("load: %w (and cleaning up failed: %v)", err, gcErr)
			}
			return nil, fmt.Errorf("load: %w", err)
		}
		out = append(out, Loaded{ID: pi.id, Tags: pi.names})
	}
	return out, nil
}

// dockerManifestEntry is one image of a docker archive's manifest.json.
type dockerManifestEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

func dockerImages(a *archive) ([]*pendingImage, error) {
	raw, err := a.read("manifest.json")
	if err != nil {
		return nil, err
	}
	var entries []dockerManifestEntry
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, badArchive("manifest.json: %v", err)
	}
	if len(entries) == 0 {
		return nil, badArchive("manifest.json lists no images")
	}
	var out []*pendingImage
	for _, e := range entries {
		pi, err := dockerImage(a, e)
		if err != nil {
			return nil, err
		}
		out = append(out, pi)
	}
	return out, nil
}

func dockerImage(a *archive, e dockerManifestEntry) (*pendingImage, error) {
	pi, err := configOf(a, e.Config)
	if err != nil {
		return nil, err
	}
	if len(e.Layers) != len(pi.diffIDs) {
		return nil, badArchive("image %s: manifest.json lists %d layers, its config %d", pi.id, len(e.Layers), len(pi.diffIDs))
	}
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.DockerManifestSchema2,
		Config: v1.Descriptor{MediaType: types.DockerConfigJSON, Size: int64(len(pi.rawConfig))}}
	m.Config.Digest, _ = v1.NewHash(pi.id)
	for i, p := range e.Layers {
		d, err := layerDescriptor(a, p, pi.diffIDs[i])
		if err != nil {
			return nil, err
		}
		m.Layers = append(m.Layers, d)
		pi.layers = append(pi.layers, Blob{Digest: d.Digest.String(), MediaType: string(d.MediaType), Size: d.Size})
	}
	pi.mediaType = string(m.MediaType)
	if pi.rawManifest, err = json.Marshal(m); err != nil {
		return nil, err
	}
	pi.manifest = sha256Hash(pi.rawManifest)
	pi.open = func(i int) (io.ReadCloser, error) {
		rc, _, err := a.open(e.Layers[i])
		return rc, err
	}
	for _, t := range e.RepoTags {
		r, err := ParseReference(t)
		if err != nil || r.Digest != "" {
			return nil, badArchive("manifest.json: bad tag %q", t)
		}
		pi.names = append(pi.names, r.String())
	}
	return pi, nil
}

// configOf reads an image config and starts a pendingImage from it.
func configOf(a *archive, p string) (*pendingImage, error) {
	raw, err := a.read(p)
	if err != nil {
		return nil, err
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		return nil, badArchive("image config %q: %v", p, err)
	}
	id := sha256Hash(raw)
	return &pendingImage{id: id.String(), rawConfig: raw, cf: cf, diffIDs: cf.RootFS.DiffIDs, chainIDs: chainIDs(cf.RootFS.DiffIDs)}, nil
}

// layerDescriptor describes a docker archive layer file: a compressed layer
// is stored as is (its digest is hashed here), an uncompressed one as an
// uncompressed layer blob whose digest is its diff ID.
func layerDescriptor(a *archive, p string, diffID v1.Hash) (v1.Descriptor, error) {
	rc, size, err := a.open(p)
	if err != nil {
		return v1.Descriptor{}, err
	}
	defer rc.Close()
	var magic [4]byte
	n, _ := io.ReadFull(rc, magic[:])
	d := v1.Descriptor{Size: size, MediaType: types.DockerUncompressedLayer, Digest: diffID}
	switch {
	case bytes.HasPrefix(magic[:n], gzipMagic):
		d.MediaType = types.DockerLayer
	case bytes.HasPrefix(magic[:n], zstdMagic):
		d.MediaType = types.OCILayerZStd
	default:
		return d, nil
	}
	h := sha256.New()
	h.Write(magic[:n])
	if _, err := io.Copy(h, rc); err != nil {
		return v1.Descriptor{}, err
	}
	d.Digest = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
	return d, nil
}

func sha256Hash(b []byte) v1.Hash {
	sum := sha256.Sum256(b)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
}

func blobPath(d v1.Hash) string { return "blobs/" + d.Algorithm + "/" + d.Hex }

// ociImages reads an OCI layout's index.json, choosing this machine's
// platform in nested indexes.
func ociImages(a *archive) ([]*pendingImage, error) {
	raw, err := a.read("index.json")
	if err != nil {
		return nil, err
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, badArchive("index.json: %v", err)
	}
	byID := map[string]*pendingImage{}
	var out []*pendingImage
	for _, d := range idx.Manifests {
		pi, err := ociImage(a, d, 0)
		if err != nil {
			return nil, err
		}
		if prev, ok := byID[pi.id]; ok {
			prev.names = append(prev.names, pi.names...)
			continue
		}
		byID[pi.id] = pi
		out = append(out, pi)
	}
	if len(out) == 0 {
		return nil, badArchive("index.json lists no images")
	}
	return out, nil
}

func ociImage(a *archive, d v1.Descriptor, depth int) (*pendingImage, error) {
	raw, err := a.read(blobPath(d.Digest))
	if err != nil {
		return nil, err
	}
	if got := sha256Hash(raw); got != d.Digest {
		return nil, badArchive("blob %s is corrupt (hashes to %s)", d.Digest, got)
	}
	if d.MediaType.IsIndex() {
		if depth > 2 {
			return nil, badArchive("indexes nested too deep")
		}
		child, err := pickChild(raw)
		if err != nil {
			return nil, err
		}
		pi, err := ociImage(a, child, depth+1)
		if err == nil {
			pi.names = ociNames(d)
		}
		return pi, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, badArchive("manifest %s: %v", d.Digest, err)
	}
	pi, err := configOf(a, blobPath(m.Config.Digest))
	if err != nil {
		return nil, err
	}
	if pi.id != m.Config.Digest.String() {
		return nil, badArchive("config blob %s is corrupt", m.Config.Digest)
	}
	if len(m.Layers) != len(pi.diffIDs) {
		return nil, badArchive("image %s: manifest has %d layers, config %d", pi.id, len(m.Layers), len(pi.diffIDs))
	}
	pi.rawManifest, pi.manifest, pi.mediaType = raw, d.Digest, string(d.MediaType)
	for _, l := range m.Layers {
		pi.layers = append(pi.layers, Blob{Digest: l.Digest.String(), MediaType: string(l.MediaType), Size: l.Size})
	}
	pi.open = func(i int) (io.ReadCloser, error) {
		rc, _, err := a.open(blobPath(m.Layers[i].Digest))
		return rc, err
	}
	pi.names = ociNames(d)
	return pi, nil
}

// ociNames returns the normalized name an index.json entry carries, if any:
// containerd's full name, or a ref.name that is a full reference.
func ociNames(d v1.Descriptor) []string {
	for _, k := range []string{annotationContainerName, annotationRefName} {
		if v := d.Annotations[k]; v != "" {
			if r, err := ParseReference(v); err == nil && r.Digest == "" && (k == annotationContainerName || bytes.ContainsAny([]byte(v), "/:")) {
				return []string{r.String()}
			}
		}
	}
	return nil
}

func pickChild(raw []byte) (v1.Descriptor, error) {
	idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return v1.Descriptor{}, badArchive("index: %v", err)
	}
	want := v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	for _, m := range idx.Manifests {
		if m.Platform == nil || m.Platform.Satisfies(want) {
			return m, nil
		}
	}
	return v1.Descriptor{}, fmt.Errorf("image tarball has no manifest for %s: %w", want.String(), errdefs.ErrNotFound)
}
