package network

import (
	"fmt"

	"github.com/containerd/errdefs"
)

// kindError carries docker's exact wording while still matching an errdefs
// kind through errors.Is (wrapping with %w would append the kind's text).
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

func newError(kind error, format string, args ...any) error {
	return &kindError{msg: fmt.Sprintf(format, args...), kind: kind}
}

func errNotFound(ref string) error {
	return newError(errdefs.ErrNotFound, "network %s not found", ref)
}

func errNameExists(name string) error {
	return newError(errdefs.ErrConflict, "network with name %s already exists", name)
}

func errActiveEndpoints(n *Network) error {
	return newError(errdefs.ErrConflict,
		"error while removing network: network %s id %s has active endpoints", n.Name, n.ID)
}

func errPredefined(name string) error {
	return newError(errdefs.ErrPermissionDenied,
		"%s is a pre-defined network and cannot be removed", name)
}

func invalid(format string, args ...any) error {
	return newError(errdefs.ErrInvalidArgument, format, args...)
}
