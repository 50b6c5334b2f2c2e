package image

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/name"
)

// dockerHub is the registry name docker shows; go-containerregistry calls
// it index.docker.io.
const dockerHub = "docker.io"

// Ref is a normalized image reference, as docker normalizes them:
// "busybox" is docker.io/library/busybox:latest.
type Ref struct {
	// Registry is "docker.io", "127.0.0.1:5000", ...
	Registry string
	// Repository is the path in the registry ("library/busybox").
	Repository string
	// Tag is the tag; "latest" when neither tag nor digest was given.
	Tag string
	// Digest is set for references by digest ("sha256:...").
	Digest string
}

// ParseReference parses an image reference as users type it and normalizes
// it. A malformed reference is an errdefs.ErrInvalidArgument error.
func ParseReference(s string) (Ref, error) {
	if s == "" {
		return Ref{}, fmt.Errorf("empty image reference: %w", errdefs.ErrInvalidArgument)
	}
	if strings.ContainsAny(s, " \t\n\r") || s != strings.TrimSpace(s) {
		return Ref{}, fmt.Errorf("invalid reference format %q: no whitespace allowed: %w", s, errdefs.ErrInvalidArgument)
	}
	r, err := name.ParseReference(s, name.StrictValidation)
	if err != nil {
		// StrictValidation refuses an implicit tag; retry for "busybox".
		r, err = name.ParseReference(s)
	}
	if err != nil {
		return Ref{}, fmt.Errorf("invalid reference format %q: repository name must be lowercase and may hold only [a-z0-9._/-], tag [A-Za-z0-9_.-]: %w", s, errdefs.ErrInvalidArgument)
	}
	out := fromName(r)
	for _, c := range strings.Split(out.Repository, "/") {
		if !pathComponent.MatchString(c) {
			return Ref{}, fmt.Errorf("invalid reference format %q: repository path component %q must be lowercase letters and digits, separated by '.', '_', '__' or dashes: %w", s, c, errdefs.ErrInvalidArgument)
		}
	}
	return out, nil
}

// pathComponent is docker's grammar for one repository path component.
var pathComponent = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)

func fromName(r name.Reference) Ref {
	ctx := r.Context()
	out := Ref{Registry: ctx.RegistryStr(), Repository: ctx.RepositoryStr()}
	if out.Registry == name.DefaultRegistry {
		out.Registry = dockerHub
	}
	switch v := r.(type) {
	case name.Tag:
		out.Tag = v.TagStr()
	case name.Digest:
		out.Digest = v.DigestStr()
		// "name:tag@digest": keep the tag the user gave, if any.
		if base, _, ok := strings.Cut(v.String(), "@"); ok {
			if t, err := name.NewTag(base, name.StrictValidation); err == nil {
				out.Tag = t.TagStr()
			}
		}
	}
	return out
}

// Name is the normalized repository name: "docker.io/library/busybox".
func (r Ref) Name() string { return r.Registry + "/" + r.Repository }

// String is the normalized reference: "docker.io/library/busybox:latest" or
// "docker.io/library/busybox@sha256:...".
func (r Ref) String() string {
	if r.Digest != "" {
		return r.Name() + "@" + r.Digest
	}
	return r.Name() + ":" + r.Tag
}

// TagString is the normalized name:tag, or "" for a digest-only reference.
func (r Ref) TagString() string {
	if r.Tag == "" {
		return ""
	}
	return r.Name() + ":" + r.Tag
}

// FamiliarName is the repository as docker shows it: "busybox",
// "user/app", "127.0.0.1:5000/x".
func (r Ref) FamiliarName() string {
	if r.Registry != dockerHub {
		return r.Name()
	}
	if s, ok := strings.CutPrefix(r.Repository, "library/"); ok && !strings.Contains(s, "/") {
		return s
	}
	return r.Repository
}

// Familiar is the reference as docker shows it: "busybox:latest".
func (r Ref) Familiar() string {
	if r.Digest != "" {
		return r.FamiliarName() + "@" + r.Digest
	}
	return r.FamiliarName() + ":" + r.Tag
}

// nameRef returns the go-containerregistry reference, plain HTTP allowed when
// insecure.
func (r Ref) nameRef(insecure bool) (name.Reference, error) {
	var opts []name.Option
	if insecure {
		opts = append(opts, name.Insecure)
	}
	if r.Digest != "" {
		return name.NewDigest(r.Name()+"@"+r.Digest, opts...)
	}
	return name.NewTag(r.Name()+":"+r.Tag, opts...)
}

// FamiliarString turns a normalized reference string as stored
// ("docker.io/library/busybox:latest") into docker's display form; a string
// that does not parse is returned unchanged.
func FamiliarString(s string) string {
	r, err := ParseReference(s)
	if err != nil {
		return s
	}
	return r.Familiar()
}
