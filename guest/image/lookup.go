package image

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	bolt "go.etcd.io/bbolt"
)

// isIDPrefix reports whether s is what docker accepts as an image id:
// sha256:<hex> or a prefix of the hex, 3 to 64 lowercase hex digits. (A loop:
// a regexp with {3,64} cost every process that links this package 681
// allocations at start-up.)
func isIDPrefix(s string) bool {
	s = strings.TrimPrefix(s, "sha256:")
	if len(s) < 3 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// noSuchImage is docker's error for an unknown image.
func noSuchImage(s string) error {
	if r, err := ParseReference(s); err == nil && !isIDPrefix(s) {
		s = r.Familiar()
	}
	return errdefs.ErrNotFound.WithMessage("No such image: " + s)
}

// lookup finds the image id that s (a reference or an id) names.
func lookup(tx *bolt.Tx, s string) (string, error) {
	if r, err := ParseReference(s); err == nil {
		if v := refsBucket(tx).Get([]byte(r.String())); v != nil {
			return string(v), nil
		}
		if r.Digest != "" && r.Tag != "" {
			if v := refsBucket(tx).Get([]byte(r.Name() + "@" + r.Digest)); v != nil {
				return string(v), nil
			}
		}
	}
	if !isIDPrefix(s) {
		if _, err := ParseReference(s); err != nil {
			return "", err
		}
		return "", noSuchImage(s)
	}
	want := "sha256:" + strings.TrimPrefix(s, "sha256:")
	var found []string
	c := tx.Bucket(bucketRoot).Bucket(bucketImages).Cursor()
	for k, _ := c.Seek([]byte(want)); k != nil && strings.HasPrefix(string(k), want); k, _ = c.Next() {
		found = append(found, string(k))
	}
	switch len(found) {
	case 0:
		return "", noSuchImage(s)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("image id prefix %q is ambiguous (%d images match); give more of the id: %w", s, len(found), errdefs.ErrInvalidArgument)
}

// Get returns the image that ref (a reference or an image id) names, or an
// errdefs.ErrNotFound error with docker's "No such image: x" message.
func (s *Store) Get(ctx context.Context, ref string) (*Image, error) {
	var img *Image
	err := s.db.View(func(tx *bolt.Tx) error {
		id, err := lookup(tx, ref)
		if err != nil {
			return err
		}
		img, err = getImage(tx, id)
		return err
	})
	return img, err
}

// Resolve returns the image ref names with what a container rootfs needs:
// its chain IDs (for Snapshots().LowerDirs) and its config.
func (s *Store) Resolve(ctx context.Context, ref string) (*Image, *v1.ConfigFile, error) {
	img, err := s.Get(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	raw, err := s.RawConfig(img)
	if err != nil {
		return nil, nil, err
	}
	var cf v1.ConfigFile
	if err := json.Unmarshal(raw, &cf); err != nil {
		return nil, nil, fmt.Errorf("image %s: bad config: %w", img.ID, err)
	}
	return img, &cf, nil
}

// RawConfig returns the image's config JSON.
func (s *Store) RawConfig(img *Image) ([]byte, error) {
	h, err := v1.NewHash(img.ID)
	if err != nil {
		return nil, err
	}
	return s.content.ReadBlob(h)
}

// RawManifest returns the image's manifest JSON.
func (s *Store) RawManifest(img *Image) ([]byte, error) {
	h, err := v1.NewHash(img.ManifestDigest)
	if err != nil {
		return nil, err
	}
	return s.content.ReadBlob(h)
}

// Containers returns how many containers use image id.
func (s *Store) Containers(id string) int { return s.containers(id) }

// ListOptions select images for List.
type ListOptions struct {
	// All includes intermediate images: untagged images that are the
	// parent of another image (the builder's steps), which docker hides.
	All bool
	// Filters in docker's form: "dangling=true", "reference=busybox*",
	// "label=k" or "label=k=v".
	Filters []string
}

// List returns the images matching opts, newest first.
func (s *Store) List(ctx context.Context, opts ListOptions) ([]*Image, error) {
	f, err := parseFilters(opts.Filters)
	if err != nil {
		return nil, err
	}
	var out []*Image
	parents := map[string]bool{}
	err = s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRoot).Bucket(bucketImages).ForEach(func(k, _ []byte) error {
			img, err := getImage(tx, string(k))
			if err != nil {
				return err
			}
			if img.Parent != "" {
				parents[img.Parent] = true
			}
			if f.match(img) {
				out = append(out, img)
			}
			return nil
		})
	})
	if !opts.All {
		out = slices.DeleteFunc(out, func(img *Image) bool { return len(img.RepoTags) == 0 && parents[img.ID] })
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.After(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out, err
}

type filters struct {
	dangling  *bool
	reference []string
	labels    []string
}

func parseFilters(in []string) (*filters, error) {
	f := &filters{}
	for _, s := range in {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return nil, fmt.Errorf("bad filter %q: want key=value: %w", s, errdefs.ErrInvalidArgument)
		}
		switch k {
		case "dangling":
			b := v == "true" || v == "1"
			if !b && v != "false" && v != "0" {
				return nil, fmt.Errorf("invalid filter 'dangling=%s': want true or false: %w", v, errdefs.ErrInvalidArgument)
			}
			f.dangling = &b
		case "reference":
			f.reference = append(f.reference, v)
		case "label":
			f.labels = append(f.labels, v)
		default:
			return nil, fmt.Errorf("invalid filter '%s': images support dangling, reference and label: %w", k, errdefs.ErrInvalidArgument)
		}
	}
	return f, nil
}

func (f *filters) match(img *Image) bool {
	if f.dangling != nil && (len(img.RepoTags) == 0) != *f.dangling {
		return false
	}
	for _, l := range f.labels {
		k, v, hasV := strings.Cut(l, "=")
		got, ok := img.Labels[k]
		if !ok || (hasV && got != v) {
			return false
		}
	}
	if len(f.reference) == 0 {
		return true
	}
	for _, pat := range f.reference {
		for _, t := range img.RepoTags {
			if matchReference(pat, t) {
				return true
			}
		}
	}
	return false
}

// matchReference matches docker's reference filter: a glob against the
// familiar name, or name:tag.
func matchReference(pat, normalized string) bool {
	r, err := ParseReference(normalized)
	if err != nil {
		return false
	}
	for _, cand := range []string{r.FamiliarName(), r.Familiar(), r.Name(), r.String()} {
		if ok, _ := path.Match(pat, cand); ok {
			return true
		}
	}
	return false
}
