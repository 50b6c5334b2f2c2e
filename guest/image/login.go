package image

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Login checks the credentials against the registry at server (host[:port])
// the way docker's daemon does for docker login: the registry's /v2/
// endpoint must accept them. Errors: ErrInvalidArgument for a bad server
// name, ErrPermissionDenied when the registry refuses the credentials,
// ErrUnavailable when it cannot be reached.
func (s *Store) Login(ctx context.Context, server string, cfg authn.AuthConfig) error {
	var opts []name.Option
	if s.insecure[server] {
		opts = append(opts, name.Insecure)
	}
	reg, err := name.NewRegistry(server, opts...)
	if err != nil {
		return fmt.Errorf("invalid registry %q: %v: %w", server, err, errdefs.ErrInvalidArgument)
	}
	tr, err := transport.NewWithContext(ctx, reg, authn.FromConfig(cfg), s.transport, nil)
	if err != nil {
		return loginError(server, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s://%s/v2/", reg.Scheme(), reg.RegistryStr()), nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return loginError(server, err)
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("login to %s: unauthorized: incorrect username or password: %w", server, errdefs.ErrPermissionDenied)
	case resp.StatusCode >= 300:
		return fmt.Errorf("login to %s: the registry answered %s: %w", server, resp.Status, errdefs.ErrUnavailable)
	}
	return nil
}

func loginError(server string, err error) error {
	var te *transport.Error
	if errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden) {
		return fmt.Errorf("login to %s: unauthorized: incorrect username or password: %w", server, errdefs.ErrPermissionDenied)
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("login to %s: cannot reach the registry (check the address and that it runs): %v: %w", server, err, errdefs.ErrUnavailable)
}
