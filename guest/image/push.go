package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Pushed is one tag a Push uploaded.
type Pushed struct {
	// Tag is the tag as given ("latest").
	Tag string
	// Digest and Size describe the manifest the registry now has.
	Digest string
	Size   int64
}

// Push uploads the image named ref (a tag; no tag means "latest") to its
// registry, or, with allTags, every local tag of ref's repository. Progress
// uses docker's words: "Preparing", "Pushing", "Pushed", "Layer already
// exists". Errors: ErrNotFound when no such tag exists locally,
// ErrUnavailable when the registry cannot be reached, ErrPermissionDenied
// when it refuses the credentials.
func (s *Store) Push(ctx context.Context, ref string, allTags bool, opts ...PullOption) ([]Pushed, error) {
	o, report := newPullOptions(opts)
	r, err := ParseReference(ref)
	if err != nil {
		return nil, err
	}
	if r.Digest != "" {
		return nil, fmt.Errorf("cannot push a digest reference %q: push a tag: %w", ref, errdefs.ErrInvalidArgument)
	}
	tags, err := s.pushTags(ctx, r, allTags)
	if err != nil {
		return nil, err
	}
	var out []Pushed
	for _, t := range tags {
		p, err := s.pushTag(ctx, t, o.auth, report)
		if err != nil {
			return out, pushError(t, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// pushTags returns the references to push: r itself, or every local tag of
// its repository.
func (s *Store) pushTags(ctx context.Context, r Ref, allTags bool) ([]Ref, error) {
	if !allTags {
		if _, err := s.Get(ctx, r.String()); err != nil {
			return nil, fmt.Errorf("An image does not exist locally with the tag: %s: %w", r.FamiliarName(), errdefs.ErrNotFound)
		}
		return []Ref{r}, nil
	}
	imgs, err := s.List(ctx, ListOptions{})
	if err != nil {
		return nil, err
	}
	var refs []Ref
	for _, img := range imgs {
		for _, t := range img.RepoTags {
			if tr, err := ParseReference(t); err == nil && tr.Name() == r.Name() {
				refs = append(refs, tr)
			}
		}
	}
	if len(refs) == 0 {
		return nil, fmt.Errorf("An image does not exist locally with the tag: %s: %w", r.FamiliarName(), errdefs.ErrNotFound)
	}
	return refs, nil
}

// pushTag uploads the layers one by one (so that each gets its own progress
// line), then the config and the manifest.
func (s *Store) pushTag(ctx context.Context, r Ref, auth authn.Authenticator, report func(Progress)) (Pushed, error) {
	img, err := s.Get(ctx, r.String())
	if err != nil {
		return Pushed{}, err
	}
	keys := []string{img.ID, img.ManifestDigest}
	for _, l := range img.Layers {
		keys = append(keys, l.Digest)
	}
	defer s.lease(keys...)()
	nr, err := r.nameRef(s.insecure[r.Registry])
	if err != nil {
		return Pushed{}, err
	}
	vimg, err := partial.CompressedToImage(&storedImage{s: s, img: img})
	if err != nil {
		return Pushed{}, err
	}
	ropts := s.remoteOptions(ctx, auth, v1.Platform{})
	pusher, err := remote.NewPusher(ropts...)
	if err != nil {
		return Pushed{}, err
	}
	for i := len(img.Layers) - 1; i >= 0; i-- {
		report(Progress{ID: shortID(img.Layers[i].Digest), Status: "Preparing"})
	}
	// One authorized client (one ping and token exchange) asks about every
	// layer; nil when it cannot be had, and then every layer is uploaded.
	var blobs *http.Client
	if tr, err := transport.NewWithContext(ctx, nr.Context().Registry, auth, s.transport,
		[]string{nr.Context().Scope(transport.PushScope)}); err == nil {
		blobs = &http.Client{Transport: tr}
	}
	for _, l := range img.Layers {
		if err := pushLayer(ctx, nr.Context(), blobs, ropts, vimg, l, report); err != nil {
			return Pushed{}, err
		}
	}
	if err := pusher.Push(ctx, nr, vimg); err != nil {
		return Pushed{}, err
	}
	raw, err := s.RawManifest(img)
	if err != nil {
		return Pushed{}, err
	}
	return Pushed{Tag: r.Tag, Digest: img.ManifestDigest, Size: int64(len(raw))}, nil
}

func pushLayer(ctx context.Context, repo name.Repository, blobs *http.Client, ropts []remote.Option,
	vimg v1.Image, l Blob, report func(Progress)) error {
	id := shortID(l.Digest)
	h, err := v1.NewHash(l.Digest)
	if err != nil {
		return err
	}
	if blobExists(ctx, blobs, repo, h) {
		report(Progress{ID: id, Status: "Layer already exists"})
		return nil
	}
	layer, err := vimg.LayerByDigest(h)
	if err != nil {
		return err
	}
	updates := make(chan v1.Update, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for u := range updates {
			report(Progress{ID: id, Status: "Pushing", Current: u.Complete, Total: u.Total})
		}
	}()
	// WriteLayer closes updates when it returns.
	err = remote.WriteLayer(repo, layer, append(ropts[:len(ropts):len(ropts)], remote.WithProgress(updates))...)
	<-done
	if err != nil {
		return err
	}
	report(Progress{ID: id, Status: "Pushed"})
	return nil
}

// blobExists asks the registry, through the authorized client blobs,
// whether repo already has the blob h. Any failure (or no client) counts
// as "no": the upload then finds out properly.
func blobExists(ctx context.Context, blobs *http.Client, repo name.Repository, h v1.Hash) bool {
	if blobs == nil {
		return false
	}
	u := fmt.Sprintf("%s://%s/v2/%s/blobs/%s", repo.Registry.Scheme(), repo.RegistryStr(), repo.RepositoryStr(), h)
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u, nil)
	if err != nil {
		return false
	}
	resp, err := blobs.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// storedImage is an image of the store seen as a go-containerregistry
// image, its blobs read from the content store as they are.
type storedImage struct {
	s   *Store
	img *Image
}

var _ partial.CompressedImageCore = (*storedImage)(nil)

func (si *storedImage) RawConfigFile() ([]byte, error) { return si.s.RawConfig(si.img) }

func (si *storedImage) MediaType() (types.MediaType, error) {
	return types.MediaType(si.img.ManifestMediaType), nil
}

func (si *storedImage) RawManifest() ([]byte, error) { return si.s.RawManifest(si.img) }

func (si *storedImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	for _, l := range si.img.Layers {
		if l.Digest == h.String() {
			return &storedLayer{s: si.s, b: l, h: h}, nil
		}
	}
	if si.img.ID == h.String() {
		return &storedLayer{s: si.s, b: Blob{Digest: si.img.ID, MediaType: string(types.OCIConfigJSON)}, h: h}, nil
	}
	return nil, fmt.Errorf("image %s has no blob %s: %w", shortID(si.img.ID), h, errdefs.ErrNotFound)
}

// storedLayer is one compressed blob of the content store.
type storedLayer struct {
	s *Store
	b Blob
	h v1.Hash
}

func (l *storedLayer) Digest() (v1.Hash, error) { return l.h, nil }

func (l *storedLayer) Compressed() (io.ReadCloser, error) {
	f, err := l.s.content.Open(l.h)
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (l *storedLayer) Size() (int64, error) {
	if l.b.Size > 0 {
		return l.b.Size, nil
	}
	return l.s.content.Size(l.h)
}

func (l *storedLayer) MediaType() (types.MediaType, error) {
	return types.MediaType(l.b.MediaType), nil
}

// pushError turns a registry error into an errdefs kind with docker's
// wording for pushes.
func pushError(r Ref, err error) error {
	if errdefs.IsNotFound(err) || errdefs.IsInvalidArgument(err) || errors.Is(err, context.Canceled) {
		return err
	}
	var te *transport.Error
	if errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden) {
		return fmt.Errorf("push %s: denied: requested access to the resource is denied (log in with berth login %s): %w",
			r.FamiliarName(), r.Registry, errdefs.ErrPermissionDenied)
	}
	var ne net.Error
	var oe *net.OpError
	if errors.As(err, &oe) || errors.As(err, &ne) {
		return fmt.Errorf("registry %s is unreachable (check that it is running and the address is right): %v: %w", r.Registry, err, errdefs.ErrUnavailable)
	}
	return fmt.Errorf("push %s: %w", r.Familiar(), err)
}
