package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/sync/errgroup"
)

// pendingImage is an image being brought into the store (pulled or loaded).
type pendingImage struct {
	id          string
	rawConfig   []byte
	cf          *v1.ConfigFile
	rawManifest []byte
	manifest    v1.Hash
	mediaType   string
	layers      []Blob
	diffIDs     []v1.Hash
	chainIDs    []string
	open        func(i int) (io.ReadCloser, error)
	// names are the normalized names to point at the image.
	names []string
}

// readImage collects what storeImage needs from a go-containerregistry
// image.
func (s *Store) readImage(ctx context.Context, img v1.Image) (*pendingImage, error) {
	pi := &pendingImage{}
	var err error
	if pi.rawManifest, err = img.RawManifest(); err != nil {
		return nil, err
	}
	if pi.manifest, err = img.Digest(); err != nil {
		return nil, err
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	mt, _ := img.MediaType()
	pi.mediaType = string(mt)
	if pi.rawConfig, err = img.RawConfigFile(); err != nil {
		return nil, err
	}
	if pi.cf, err = img.ConfigFile(); err != nil {
		return nil, err
	}
	cfgName, err := img.ConfigName()
	if err != nil {
		return nil, err
	}
	pi.id = cfgName.String()
	if len(m.Layers) != len(pi.cf.RootFS.DiffIDs) {
		return nil, fmt.Errorf("image %s: manifest has %d layers but config has %d diff IDs", pi.id, len(m.Layers), len(pi.cf.RootFS.DiffIDs))
	}
	for _, l := range m.Layers {
		pi.layers = append(pi.layers, Blob{Digest: l.Digest.String(), MediaType: string(l.MediaType), Size: l.Size})
	}
	pi.diffIDs = pi.cf.RootFS.DiffIDs
	pi.chainIDs = chainIDs(pi.diffIDs)
	pi.open = func(i int) (io.ReadCloser, error) {
		l, err := img.LayerByDigest(m.Layers[i].Digest)
		if err != nil {
			return nil, err
		}
		return l.Compressed()
	}
	return pi, nil
}

// chainIDs computes the layer chain IDs from diff IDs, base first.
func chainIDs(diffIDs []v1.Hash) []string {
	out := make([]string, len(diffIDs))
	for i, d := range diffIDs {
		if i == 0 {
			out[i] = d.String()
			continue
		}
		h := sha256.Sum256([]byte(out[i-1] + " " + d.String()))
		out[i] = "sha256:" + hex.EncodeToString(h[:])
	}
	return out
}

func shortID(digest string) string {
	if h, err := v1.NewHash(digest); err == nil && len(h.Hex) >= 12 {
		return h.Hex[:12]
	}
	return digest
}

// storeImage brings every layer in (pullJobs at a time), stores config and
// manifest, and records the image and its names. It reports whether the
// image was already complete and named so.
func (s *Store) storeImage(ctx context.Context, pi *pendingImage, report func(Progress)) (bool, error) {
	keys := append([]string{pi.id, pi.manifest.String()}, pi.chainIDs...)
	for _, l := range pi.layers {
		keys = append(keys, l.Digest)
	}
	defer s.lease(keys...)()

	for i, l := range pi.layers {
		report(Progress{ID: shortID(l.Digest), Status: "Pulling fs layer"})
		if i >= pullJobs {
			report(Progress{ID: shortID(l.Digest), Status: "Waiting"})
		}
	}
	sizes, allExisted, err := s.fetchLayers(ctx, pi, report)
	if err != nil {
		return false, err
	}
	if err := s.content.WriteBlob(pi.manifest, pi.rawManifest); err != nil {
		return false, err
	}
	cfgHash, err := v1.NewHash(pi.id)
	if err != nil {
		return false, err
	}
	if err := s.content.WriteBlob(cfgHash, pi.rawConfig); err != nil {
		return false, err
	}
	img := pi.record(sizes)
	had, err := s.commitRecord(img, pi.names)
	return allExisted && had, err
}

// commitRecord stores the image record and points names at it, reporting
// whether the image was already stored under all of them.
func (s *Store) commitRecord(img *Image, names []string) (bool, error) {
	s.meta.Lock()
	defer s.meta.Unlock()
	var had bool
	err := s.db.Update(func(tx *bolt.Tx) error {
		old, err := getImage(tx, img.ID)
		if err == nil {
			had = true
			for _, n := range names {
				had = had && (contains(old.RepoTags, n) || contains(old.RepoDigests, n))
			}
			img.Stored = old.Stored
		}
		if err := putImage(tx, img); err != nil {
			return err
		}
		for _, n := range names {
			if err := refsBucket(tx).Put([]byte(n), []byte(img.ID)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("record image %s: %w", img.ID, err)
	}
	return had, nil
}

func (pi *pendingImage) record(sizes []int64) *Image {
	img := &Image{
		ID:                pi.id,
		ManifestDigest:    pi.manifest.String(),
		ManifestMediaType: pi.mediaType,
		Created:           pi.cf.Created.Time,
		Labels:            pi.cf.Config.Labels,
		ChainIDs:          pi.chainIDs,
		Layers:            pi.layers,
		Stored:            time.Now().UTC(),
	}
	if p := pi.cf.Platform(); p != nil {
		img.Platform = p.String()
	}
	for i, d := range pi.diffIDs {
		img.DiffIDs = append(img.DiffIDs, d.String())
		img.Size += sizes[i]
	}
	return img
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// fetchLayers brings every layer in, pullJobs at a time, and returns their
// unpacked sizes and whether all of them were already there.
func (s *Store) fetchLayers(ctx context.Context, pi *pendingImage, report func(Progress)) ([]int64, bool, error) {
	sizes := make([]int64, len(pi.layers))
	existed := make([]bool, len(pi.layers))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(pullJobs)
	for i := range pi.layers {
		g.Go(func() error {
			id := shortID(pi.layers[i].Digest)
			res, err := s.ensureLayer(gctx, &layerJob{
				blob: pi.layers[i], diffID: pi.diffIDs[i], chainID: pi.chainIDs[i],
				open: func() (io.ReadCloser, error) { return pi.open(i) },
				report: func(st string, cur, total int64) {
					report(Progress{ID: id, Status: st, Current: cur, Total: total})
				},
			})
			sizes[i], existed[i] = res.size, res.existed
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, false, err
	}
	all := true
	for _, e := range existed {
		all = all && e
	}
	return sizes, all, nil
}
