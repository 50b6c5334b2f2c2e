package image

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// pullJobs is how many layers download at once, as docker does.
const pullJobs = 3

// Progress is one progress line of a pull, in docker's wording.
type Progress struct {
	// ID is the short layer id, the tag being pulled, or empty.
	ID      string
	Status  string
	Current int64
	Total   int64
}

// PullOption configures a pull.
type PullOption func(*pullOptions)

type pullOptions struct {
	platform string
	auth     authn.Authenticator
	progress func(Progress)
}

// WithPlatform pulls for "os/arch[/variant]" instead of the machine's own.
func WithPlatform(p string) PullOption { return func(o *pullOptions) { o.platform = p } }

// WithAuth uses the given registry credential instead of anonymous access.
func WithAuth(cfg authn.AuthConfig) PullOption {
	return func(o *pullOptions) {
		if cfg != (authn.AuthConfig{}) {
			o.auth = authn.FromConfig(cfg)
		}
	}
}

// WithProgress receives progress lines. The function is called from one
// goroutine at a time and should not block for long.
func WithProgress(fn func(Progress)) PullOption { return func(o *pullOptions) { o.progress = fn } }

// newPullOptions applies opts over the defaults (anonymous, no progress)
// and returns them with a report function safe to call from several
// goroutines.
func newPullOptions(opts []PullOption) (pullOptions, func(Progress)) {
	o := pullOptions{auth: authn.Anonymous, progress: func(Progress) {}}
	for _, opt := range opts {
		opt(&o)
	}
	var mu sync.Mutex
	return o, func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		o.progress(p)
	}
}

// ParsePlatform parses "os/arch[/variant]"; empty means linux and this
// machine's architecture.
func ParsePlatform(s string) (v1.Platform, error) {
	if s == "" {
		return v1.Platform{OS: "linux", Architecture: runtime.GOARCH}, nil
	}
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return v1.Platform{}, fmt.Errorf("invalid platform %q: want os/arch[/variant], e.g. linux/arm64: %w", s, errdefs.ErrInvalidArgument)
	}
	p := v1.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}

// Pull fetches ref from its registry, stores its blobs, unpacks its layers
// and tags it. Errors: ErrInvalidArgument for a malformed reference or
// platform, ErrNotFound for an unknown image or platform, ErrUnavailable
// when the registry cannot be reached, ErrPermissionDenied when access is
// refused.
func (s *Store) Pull(ctx context.Context, ref string, opts ...PullOption) (*Image, error) {
	o, report := newPullOptions(opts)
	r, err := ParseReference(ref)
	if err != nil {
		return nil, err
	}
	plat, err := ParsePlatform(o.platform)
	if err != nil {
		return nil, err
	}
	nr, err := r.nameRef(s.insecure[r.Registry])
	if err != nil {
		return nil, fmt.Errorf("invalid reference format %q: %w", ref, errdefs.ErrInvalidArgument)
	}
	desc, err := remote.Get(nr, s.remoteOptions(ctx, o.auth, plat)...)
	if err != nil {
		return nil, registryError(r, err)
	}
	id := r.Tag
	if id == "" {
		id = r.Digest
	}
	report(Progress{ID: id, Status: "Pulling from " + strings.TrimPrefix(r.FamiliarName(), r.Registry+"/")})
	img, err := pickImage(desc, plat, o.platform != "")
	if err != nil {
		return nil, registryError(r, err)
	}
	pi, err := s.readImage(ctx, img)
	if err != nil {
		return nil, registryError(r, err)
	}
	pi.names = []string{r.Name() + "@" + desc.Digest.String()}
	if r.Digest == "" { // docker does not tag an image pulled by digest
		pi.names = append(pi.names, r.TagString())
	}
	existed, err := s.storeImage(ctx, pi, report)
	if err != nil {
		return nil, err
	}
	report(Progress{Status: "Digest: " + desc.Digest.String()})
	if existed {
		report(Progress{Status: "Status: Image is up to date for " + r.Familiar()})
	} else {
		report(Progress{Status: "Status: Downloaded newer image for " + r.Familiar()})
	}
	log.G(ctx).WithField("ref", r.String()).WithField("id", pi.id).Debug("pulled image")
	return s.Get(ctx, pi.id)
}

// pickImage resolves an index to the image for plat, with docker's error
// when there is none; a single image is checked against an explicitly
// requested platform.
func pickImage(desc *remote.Descriptor, plat v1.Platform, explicit bool) (v1.Image, error) {
	if !desc.MediaType.IsIndex() {
		img, err := desc.Image()
		if err != nil || !explicit {
			return img, err
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, err
		}
		if got := cf.Platform(); got != nil && !got.Satisfies(plat) {
			return nil, fmt.Errorf("image is for %s, not the requested platform %s: %w", got, plat, errdefs.ErrNotFound)
		}
		return img, nil
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, m := range im.Manifests {
		if m.Platform != nil && m.Platform.Satisfies(plat) && m.MediaType.IsImage() {
			return idx.Image(m.Digest)
		}
	}
	return nil, fmt.Errorf("no matching manifest for %s in the manifest list entries: %w", plat, errdefs.ErrNotFound)
}

// registryError turns a go-containerregistry error into an errdefs kind
// with docker's wording.
func registryError(r Ref, err error) error {
	if errdefs.IsNotFound(err) || errdefs.IsInvalidArgument(err) || errors.Is(err, context.Canceled) {
		return err
	}
	var te *transport.Error
	if errors.As(err, &te) {
		for _, d := range te.Errors {
			switch d.Code {
			case transport.ManifestUnknownErrorCode:
				return fmt.Errorf("manifest for %s not found: manifest unknown: %w", r.Familiar(), errdefs.ErrNotFound)
			case transport.NameUnknownErrorCode:
				return fmt.Errorf("pull access denied for %s, repository does not exist or may require 'docker login': %w", r.FamiliarName(), errdefs.ErrNotFound)
			case transport.UnauthorizedErrorCode, transport.DeniedErrorCode:
				return fmt.Errorf("pull access denied for %s, repository does not exist or may require 'docker login': %w", r.FamiliarName(), errdefs.ErrPermissionDenied)
			}
		}
		switch {
		case te.StatusCode == 404:
			return fmt.Errorf("manifest for %s not found: %w", r.Familiar(), errdefs.ErrNotFound)
		case te.StatusCode == 401 || te.StatusCode == 403:
			return fmt.Errorf("pull access denied for %s: %w", r.FamiliarName(), errdefs.ErrPermissionDenied)
		case te.StatusCode >= 500:
			return fmt.Errorf("registry %s failed (HTTP %d): %v: %w", r.Registry, te.StatusCode, err, errdefs.ErrUnavailable)
		}
	}
	var ne net.Error
	var ue *url.Error
	var oe *net.OpError
	if errors.As(err, &oe) || errors.As(err, &ne) || errors.As(err, &ue) {
		return fmt.Errorf("registry %s is unreachable (check that it is running and the address is right): %v: %w", r.Registry, err, errdefs.ErrUnavailable)
	}
	return fmt.Errorf("pull %s: %w", r.Familiar(), err)
}

func (s *Store) remoteOptions(ctx context.Context, auth authn.Authenticator, plat v1.Platform) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx), remote.WithAuth(auth), remote.WithTransport(s.transport),
		remote.WithPlatform(plat), remote.WithUserAgent("berth"),
		// A registry that is down should fail fast, not after a long backoff.
		remote.WithRetryBackoff(remote.Backoff{Duration: 200 * time.Millisecond, Factor: 2, Steps: 2}),
	}
}
