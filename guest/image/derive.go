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
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
)

// Derive stores a new image made of parent's layers (none when parent is
// "", as for FROM scratch) plus, when layerPath is not "", the uncompressed
// layer tar at layerPath, with cf as its config (cf.RootFS is set here). The
// record's Parent is parent, as docker's builder records it. The image has
// no name; Tag names it. It is how the builder commits each step.
func (s *Store) Derive(ctx context.Context, parent, layerPath string, cf *v1.ConfigFile) (*Image, error) {
	base := &Image{}
	m := &v1.Manifest{SchemaVersion: 2, MediaType: types.DockerManifestSchema2}
	if parent != "" {
		var err error
		if base, err = s.Get(ctx, parent); err != nil {
			return nil, err
		}
		raw, err := s.RawManifest(base)
		if err != nil {
			return nil, err
		}
		if m, err = v1.ParseManifest(bytes.NewReader(raw)); err != nil {
			return nil, fmt.Errorf("image %s: bad manifest: %w", base.ID, err)
		}
	}
	img := &Image{
		DiffIDs: append([]string{}, base.DiffIDs...), ChainIDs: append([]string{}, base.ChainIDs...),
		Layers: append([]Blob{}, base.Layers...), Size: base.Size, Parent: parent,
		Created: cf.Created.Time, Labels: cf.Config.Labels, Stored: time.Now().UTC(),
	}
	keys := append([]string{}, img.ChainIDs...)
	for _, l := range img.Layers {
		keys = append(keys, l.Digest)
	}
	defer s.lease(keys...)()
	if layerPath != "" {
		l, size, release, err := s.addLayer(ctx, img.ChainIDs, layerPath, m.MediaType)
		if err != nil {
			return nil, err
		}
		defer release()
		img.DiffIDs = append(img.DiffIDs, l.diffID.String())
		img.ChainIDs = append(img.ChainIDs, l.chainID)
		img.Layers = append(img.Layers, l.blob)
		img.Size += size
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: types.MediaType(l.blob.MediaType), Size: l.blob.Size, Digest: mustHash(l.blob.Digest)})
	}
	cf.RootFS = v1.RootFS{Type: "layers"}
	for _, d := range img.DiffIDs {
		cf.RootFS.DiffIDs = append(cf.RootFS.DiffIDs, mustHash(d))
	}
	if p := cf.Platform(); p != nil {
		img.Platform = p.String()
	}
	return img, s.storeDerived(img, m, cf)
}

// storeDerived writes the config and manifest blobs and the record.
func (s *Store) storeDerived(img *Image, m *v1.Manifest, cf *v1.ConfigFile) error {
	rawConfig, err := json.Marshal(cf)
	if err != nil {
		return err
	}
	cfgHash := sha256Hash(rawConfig)
	img.ID = cfgHash.String()
	m.Config = v1.Descriptor{MediaType: types.DockerConfigJSON, Size: int64(len(rawConfig)), Digest: cfgHash}
	if m.MediaType == types.OCIManifestSchema1 {
		m.Config.MediaType = types.OCIConfigJSON
	}
	rawManifest, err := json.Marshal(m)
	if err != nil {
		return err
	}
	manHash := sha256Hash(rawManifest)
	img.ManifestDigest, img.ManifestMediaType = manHash.String(), string(m.MediaType)
	defer s.lease(img.ID, img.ManifestDigest)()
	if err := s.content.WriteBlob(cfgHash, rawConfig); err != nil {
		return err
	}
	if err := s.content.WriteBlob(manHash, rawManifest); err != nil {
		return err
	}
	_, err = s.commitRecord(img, nil)
	return err
}

// addLayer compresses the layer tar into the content store and unpacks it
// as a snapshot on top of parentChain. The returned release ends the lease
// that keeps both from garbage collection until the image is recorded.
func (s *Store) addLayer(ctx context.Context, parentChain []string, layerPath string, manifestType types.MediaType) (*layerJob, int64, func(), error) {
	f, err := os.Open(layerPath)
	if err != nil {
		return nil, 0, nil, err
	}
	defer f.Close()
	tmp, err := os.CreateTemp(s.tmp, "layer-*.tar.gz")
	if err != nil {
		return nil, 0, nil, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	diffH, blobH := sha256.New(), sha256.New()
	zw, _ := gzip.NewWriterLevel(io.MultiWriter(tmp, blobH), gzip.BestSpeed)
	if _, err := io.Copy(io.MultiWriter(zw, diffH), f); err != nil {
		return nil, 0, nil, fmt.Errorf("compress layer: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, 0, nil, err
	}
	st, err := tmp.Stat()
	if err != nil {
		return nil, 0, nil, err
	}
	j := &layerJob{
		diffID: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(diffH.Sum(nil))},
		blob:   Blob{Digest: "sha256:" + hex.EncodeToString(blobH.Sum(nil)), MediaType: string(types.DockerLayer), Size: st.Size()},
		report: func(string, int64, int64) {},
	}
	if manifestType == types.OCIManifestSchema1 {
		j.blob.MediaType = string(types.OCILayer)
	}
	j.chainID = j.diffID.String()
	if len(parentChain) > 0 {
		j.chainID = chainOf(parentChain[len(parentChain)-1], j.diffID)
	}
	release := s.lease(j.chainID, j.blob.Digest)
	j.open = func() (io.ReadCloser, error) { return os.Open(tmp.Name()) }
	res, err := s.ensureLayer(ctx, j)
	if err != nil {
		release()
		return nil, 0, nil, err
	}
	return j, res.size, release, nil
}

// chainOf is the chain ID of diffID on top of the chain parent.
func chainOf(parent string, diffID v1.Hash) string {
	h := sha256.Sum256([]byte(parent + " " + diffID.String()))
	return "sha256:" + hex.EncodeToString(h[:])
}

// mustHash parses a digest the store wrote itself.
func mustHash(s string) v1.Hash {
	h, _ := v1.NewHash(s)
	return h
}
