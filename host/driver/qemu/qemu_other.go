//go:build !linux && !darwin

package qemu

import (
	"context"
	"net"
	"runtime"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/driver"
	"github.com/berth-dev/berth/host/internal/errkind"
)

// Driver is the qemu driver on an OS it does not run on: every call fails.
type Driver struct{ info }

var _ driver.Driver = (*Driver)(nil)

func newDriver(Factory, driver.Instance) *Driver { return &Driver{} }

func errOS() error {
	return errkind.New(errdefs.ErrNotImplemented, "the qemu driver runs on Linux and macOS, not %s", runtime.GOOS)
}

// Create fails.
func (*Driver) Create(context.Context) error { return errOS() }

// Start fails.
func (*Driver) Start(context.Context) (<-chan error, error) { return nil, errOS() }

// Stop does nothing: nothing runs.
func (*Driver) Stop(context.Context) error { return nil }

// Delete does nothing.
func (*Driver) Delete(context.Context) error { return nil }

// DialAgent fails.
func (*Driver) DialAgent(context.Context) (net.Conn, error) { return nil, errOS() }
