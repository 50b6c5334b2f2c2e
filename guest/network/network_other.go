//go:build !linux

package network

import (
	"context"
	"fmt"
	"runtime"

	"github.com/containerd/errdefs"
)

// Manager is only implemented on Linux; elsewhere every call fails.
type Manager struct{}

func errUnsupported() error {
	return fmt.Errorf("container networking needs Linux (this is %s): %w", runtime.GOOS, errdefs.ErrNotImplemented)
}

// New fails: container networking needs Linux.
func New(context.Context, Options) (*Manager, error) { return nil, errUnsupported() }

// Close does nothing.
func (*Manager) Close() error { return nil }

// Create fails: container networking needs Linux.
func (*Manager) Create(context.Context, CreateOptions) (*Network, error) {
	return nil, errUnsupported()
}

// List fails: container networking needs Linux.
func (*Manager) List(context.Context) ([]*Network, error) { return nil, errUnsupported() }

// Inspect fails: container networking needs Linux.
func (*Manager) Inspect(context.Context, string) (*Network, error) { return nil, errUnsupported() }

// Remove fails: container networking needs Linux.
func (*Manager) Remove(context.Context, string) error { return errUnsupported() }

// Prune fails: container networking needs Linux.
func (*Manager) Prune(context.Context, PruneOptions) ([]string, error) { return nil, errUnsupported() }

// Attach fails: container networking needs Linux.
func (*Manager) Attach(context.Context, string, string, string, AttachOptions) (*Endpoint, error) {
	return nil, errUnsupported()
}

// Detach fails: container networking needs Linux.
func (*Manager) Detach(context.Context, string, string) error { return errUnsupported() }

// Endpoints returns nothing: container networking needs Linux.
func (*Manager) Endpoints(string) []*Endpoint { return nil }

// ResolvConf fails: container networking needs Linux.
func (*Manager) ResolvConf(string) ([]byte, error) { return nil, errUnsupported() }

// ReleaseStale fails: container networking needs Linux.
func (*Manager) ReleaseStale(context.Context, func(string) bool) (int, error) {
	return 0, errUnsupported()
}

// Rename fails: container networking needs Linux.
func (*Manager) Rename(context.Context, string, string) error { return errUnsupported() }
