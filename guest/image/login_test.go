package image

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/berth-dev/berth/internal/testimage"
)

// TestLogin: good credentials pass the registry's /v2/ check, wrong ones
// are PermissionDenied with docker's words, a closed port is Unavailable.
func TestLogin(t *testing.T) {
	host := testimage.AuthRegistry(t, "alice", "s3cret")
	s, _ := newStore(t)
	ctx := context.Background()
	if err := s.Login(ctx, host, authn.AuthConfig{Username: "alice", Password: "s3cret"}); err != nil {
		t.Errorf("good credentials: %v", err)
	}
	err := s.Login(ctx, host, authn.AuthConfig{Username: "alice", Password: "wrong"})
	if !errdefs.IsPermissionDenied(err) || !strings.Contains(err.Error(), "incorrect username or password") {
		t.Errorf("bad credentials: %v, want PermissionDenied", err)
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	addr := strings.TrimPrefix(closed.URL, "http://")
	closed.Close()
	if err := s.Login(ctx, addr, authn.AuthConfig{Username: "a", Password: "b"}); !errdefs.IsUnavailable(err) {
		t.Errorf("closed port: %v, want Unavailable", err)
	}
	if err := s.Login(ctx, "bad host!", authn.AuthConfig{}); !errdefs.IsInvalidArgument(err) {
		t.Errorf("bad server name: %v, want InvalidArgument", err)
	}
}
