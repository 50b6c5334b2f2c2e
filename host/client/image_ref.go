package client

import (
	"fmt"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/berth-dev/berth/host/internal/errkind"
)

// parseImageRef checks an image reference as users type it ("busybox",
// "reg:5000/a/b:t", "x@sha256:...") before it goes to the agent, so that a
// malformed one is a clear error on the host.
func parseImageRef(s string) (name.Reference, error) {
	if s == "" {
		return nil, invalidRef("invalid reference format: the image name is empty")
	}
	ref, err := name.ParseReference(s)
	if err == nil {
		return ref, nil
	}
	if _, lerr := name.ParseReference(strings.ToLower(s)); lerr == nil {
		return nil, invalidRef(fmt.Sprintf("invalid reference format: repository name (%s) must be lowercase", repoPart(s)))
	}
	return nil, invalidRef(fmt.Sprintf("invalid reference format: %q is not an image name; use [REGISTRY/]NAME[:TAG] or NAME@sha256:DIGEST", s))
}

// repoPart is s without its tag or digest.
func repoPart(s string) string {
	s, _, _ = strings.Cut(s, "@")
	if i := strings.LastIndex(s, ":"); i > strings.LastIndex(s, "/") {
		s = s[:i]
	}
	return s
}

func invalidRef(msg string) error {
	return errkind.New(errdefs.ErrInvalidArgument, "%s", msg)
}

// familiarRepo is docker's short form of a repository: "busybox" for
// "docker.io/library/busybox", "me/app" for "index.docker.io/me/app";
// other registries keep their host.
func familiarRepo(repo string) string {
	for _, p := range []string{"docker.io/", "index.docker.io/"} {
		if strings.HasPrefix(repo, p) {
			repo = strings.TrimPrefix(repo, p)
			if r, ok := strings.CutPrefix(repo, "library/"); ok && !strings.Contains(r, "/") {
				repo = r
			}
			break
		}
	}
	return repo
}

// splitRepoTag splits "repo:tag" (the registry may carry a port) into its
// familiar repository and the tag; ok is false when there is no tag.
func splitRepoTag(s string) (repo, tag string, ok bool) {
	i := strings.LastIndex(s, ":")
	if i < 0 || strings.Contains(s[i+1:], "/") {
		return familiarRepo(s), "", false
	}
	return familiarRepo(s[:i]), s[i+1:], true
}

// splitRepoDigest splits "repo@sha256:..." into its familiar repository and
// the digest.
func splitRepoDigest(s string) (repo, digest string, ok bool) {
	r, d, ok := strings.Cut(s, "@")
	if !ok {
		return "", "", false
	}
	return familiarRepo(r), d, true
}

// familiarTagOrDigest is the short form of a full "repo:tag" or
// "repo@digest" name the agent reports ("busybox:latest" for
// "docker.io/library/busybox:latest").
func familiarTagOrDigest(s string) string {
	if repo, d, ok := splitRepoDigest(s); ok {
		return repo + "@" + d
	}
	if repo, tag, ok := splitRepoTag(s); ok {
		return repo + ":" + tag
	}
	return familiarRepo(s)
}

// familiarRef is the short, docker-style form of a reference the user gave:
// "busybox:latest" for "busybox", unchanged when it does not parse.
func familiarRef(s string) string {
	ref, err := name.ParseReference(s)
	if err != nil {
		return s
	}
	repo := familiarRepo(ref.Context().Name())
	if d, ok := ref.(name.Digest); ok {
		return repo + "@" + d.DigestStr()
	}
	return repo + ":" + ref.Identifier()
}

// looksLikeImageID reports whether s is (a prefix of) an image id, which is
// passed through as is rather than read as a name.
func looksLikeImageID(s string) bool {
	s = strings.TrimPrefix(s, "sha256:")
	if len(s) < 12 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}

// noSuchImage turns the agent's not-found error for ref into docker's
// wording; other errors come back unchanged.
func noSuchImage(ref string, err error) error {
	if !errdefs.IsNotFound(err) {
		return err
	}
	shown := ref
	if !looksLikeImageID(ref) {
		shown = familiarRef(ref)
	}
	return errkind.New(errdefs.ErrNotFound, "No such image: %s", shown)
}

// shortID is docker's 12-hex-digit image id.
func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		id = id[:12]
	}
	return id
}

// kindError is an error with docker's exact wording that still answers
// errdefs.IsX for its kind (used by the inspect commands).
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }
