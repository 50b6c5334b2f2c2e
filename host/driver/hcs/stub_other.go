//go:build !windows

package hcs

import (
	"context"
	"net"
	"runtime"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/driver"
	"github.com/berth-dev/berth/host/internal/errkind"
)

// Driver is the hcs driver where it cannot run.
type Driver struct{ inst driver.Instance }

var _ driver.Driver = (*Driver)(nil)

func errNotWindows() error {
	return errkind.New(errdefs.ErrNotImplemented, "the hcs driver runs only on Windows, not %s", runtime.GOOS)
}

// Available always fails here.
func (Factory) Available() error { return errNotWindows() }

// New returns a driver whose operations fail.
func (Factory) New(inst driver.Instance) (driver.Driver, error) { return &Driver{inst: inst}, nil }

// Name returns "hcs".
func (d *Driver) Name() string { return Name }

// Features are the hcs driver's.
func (d *Driver) Features() driver.Features { return features }

// Create fails.
func (d *Driver) Create(ctx context.Context) error { return errNotWindows() }

// Start fails.
func (d *Driver) Start(ctx context.Context) (<-chan error, error) { return nil, errNotWindows() }

// Stop has nothing to stop.
func (d *Driver) Stop(ctx context.Context) error { return nil }

// Delete has nothing to delete.
func (d *Driver) Delete(ctx context.Context) error { return nil }

// DialAgent fails.
func (d *Driver) DialAgent(ctx context.Context) (net.Conn, error) { return nil, errNotWindows() }
