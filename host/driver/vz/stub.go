//go:build !darwin || !cgo

package vz

import (
	"context"
	"net"

	"github.com/berth-dev/berth/host/driver"
)

// Driver is the vz driver in a build that cannot run it: every operation
// that would touch a VM fails with errUnavailable.
type Driver struct {
	inst driver.Instance
}

var _ driver.Driver = (*Driver)(nil)

// Available always fails here.
func (Factory) Available() error { return errUnavailable() }

// New returns a driver whose operations fail with a clear error.
func (f Factory) New(inst driver.Instance) (driver.Driver, error) { return &Driver{inst: inst}, nil }

// Name returns "vz".
func (d *Driver) Name() string { return Name }

// Features are the vz driver's, for display.
func (d *Driver) Features() driver.Features { return features }

// Create fails.
func (d *Driver) Create(ctx context.Context) error { return errUnavailable() }

// Start fails.
func (d *Driver) Start(ctx context.Context) (<-chan error, error) { return nil, errUnavailable() }

// Stop has nothing to stop.
func (d *Driver) Stop(ctx context.Context) error { return nil }

// Delete has nothing to delete.
func (d *Driver) Delete(ctx context.Context) error { return nil }

// DialAgent fails.
func (d *Driver) DialAgent(ctx context.Context) (net.Conn, error) { return nil, errUnavailable() }
