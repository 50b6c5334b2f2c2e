package image

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// saveEntry is one image to save under one name (or none).
type saveEntry struct {
	img  *Image
	name string // normalized name:tag, or ""
}

// Save writes the named images to w as one tarball that is both an OCI
// layout (oci-layout, index.json, blobs/sha256/...) and a docker archive
// (manifest.json pointing into blobs/), as Docker 25+ writes it, so that
// docker load and berth load both read it. An image named by id is saved
// without a name.
func (s *Store) Save(ctx context.Context, refs []string, w io.Writer) error {
	if len(refs) == 0 {
		return fmt.Errorf("save: no images given: %w", errdefs.ErrInvalidArgument)
	}
	var entries []saveEntry
	for _, ref := range refs {
		img, err := s.Get(ctx, ref)
		if err != nil {
			return err
		}
		e := saveEntry{img: img}
		if r, err := ParseReference(ref); err == nil && r.Digest == "" && contains(img.RepoTags, r.String()) {
			e.name = r.String()
		}
		entries = append(entries, e)
	}
	// Keep the blobs of what is being saved while writing.
	var keys []string
	for _, e := range entries {
		keys = append(keys, e.img.ID, e.img.ManifestDigest)
		for _, l := range e.img.Layers {
			keys = append(keys, l.Digest)
		}
	}
	defer s.lease(keys...)()
	tw := tar.NewWriter(w)
	if err := s.writeSave(ctx, tw, entries); err != nil {
		return err
	}
	return tw.Close()
}

func (s *Store) writeSave(ctx context.Context, tw *tar.Writer, entries []saveEntry) error {
	if err := writeTarFile(tw, "oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	if err := writeTarDir(tw, "blobs/"); err != nil {
		return err
	}
	if err := writeTarDir(tw, "blobs/sha256/"); err != nil {
		return err
	}
	written := map[string]bool{}
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	var manifest []dockerManifestEntry
	for _, e := range entries {
		blobs := []string{e.img.ManifestDigest, e.img.ID}
		var layers []string
		for _, l := range e.img.Layers {
			blobs = append(blobs, l.Digest)
			layers = append(layers, blobPathString(l.Digest))
		}
		for _, b := range blobs {
			if written[b] {
				continue
			}
			if err := s.writeBlob(ctx, tw, b); err != nil {
				return err
			}
			written[b] = true
		}
		d, err := s.indexEntry(e)
		if err != nil {
			return err
		}
		idx.Manifests = append(idx.Manifests, d)
		me := dockerManifestEntry{Config: blobPathString(e.img.ID), Layers: layers}
		if e.name != "" {
			me.RepoTags = []string{FamiliarString(e.name)}
		}
		manifest = append(manifest, me)
	}
	ib, err := json.Marshal(idx)
	if err != nil {
		return err
	}
	if err := writeTarFile(tw, "index.json", ib); err != nil {
		return err
	}
	mb, err := json.Marshal(manifest)
	if err != nil {
		return err
	}
	return writeTarFile(tw, "manifest.json", mb)
}

func (s *Store) indexEntry(e saveEntry) (v1.Descriptor, error) {
	h, err := v1.NewHash(e.img.ManifestDigest)
	if err != nil {
		return v1.Descriptor{}, err
	}
	size, err := s.content.Size(h)
	if err != nil {
		return v1.Descriptor{}, err
	}
	d := v1.Descriptor{MediaType: types.MediaType(e.img.ManifestMediaType), Digest: h, Size: size}
	if e.name != "" {
		r, _ := ParseReference(e.name)
		d.Annotations = map[string]string{annotationContainerName: r.String(), annotationRefName: r.Tag}
	}
	return d, nil
}

func blobPathString(digest string) string {
	h, err := v1.NewHash(digest)
	if err != nil {
		return digest
	}
	return blobPath(h)
}

func (s *Store) writeBlob(ctx context.Context, tw *tar.Writer, digest string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	h, err := v1.NewHash(digest)
	if err != nil {
		return err
	}
	f, err := s.content.Open(h)
	if err != nil {
		return fmt.Errorf("save: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	hdr := &tar.Header{Name: blobPath(h), Mode: 0o444, Size: st.Size(), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := io.Copy(tw, f); err != nil {
		return fmt.Errorf("save blob %s: %w", digest, err)
	}
	return nil
}

func writeTarFile(tw *tar.Writer, name string, b []byte) error {
	hdr := &tar.Header{Name: name, Mode: 0o444, Size: int64(len(b)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err := tw.Write(b)
	return err
}

func writeTarDir(tw *tar.Writer, name string) error {
	return tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Typeflag: tar.TypeDir, ModTime: time.Unix(0, 0), Format: tar.FormatPAX})
}
