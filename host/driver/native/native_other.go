//go:build !linux

package native

import (
	"context"
	"runtime"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/internal/errkind"

	"github.com/berth-dev/berth/host/driver"
)

// Driver is the native driver; it runs only on Linux.
type Driver struct {
	inst driver.Instance
}

var _ driver.Driver = (*Driver)(nil)

func errNotLinux() error {
	return errkind.New(errdefs.ErrNotImplemented, "the native driver runs only on Linux, not %s", runtime.GOOS)
}

// Available always fails: there is no native driver here.
func (Factory) Available() error { return errNotLinux() }

// Create fails: not Linux.
func (d *Driver) Create(ctx context.Context) error { return errNotLinux() }

// Start fails: not Linux.
func (d *Driver) Start(ctx context.Context) (<-chan error, error) { return nil, errNotLinux() }

// Stop has nothing to stop.
func (d *Driver) Stop(ctx context.Context) error { return nil }

// Delete has nothing to delete.
func (d *Driver) Delete(ctx context.Context) error { return nil }
