//go:build darwin && cgo && !arm64

package vz

import (
	"github.com/Code-Hex/vz/v3"
	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/internal/errkind"
)

// rosettaAvailable fails: Rosetta translates only on Apple silicon.
func rosettaAvailable() error {
	return errkind.New(errdefs.ErrNotImplemented, "--rosetta needs a Mac with Apple silicon")
}

// rosettaDevice fails: Rosetta translates only on Apple silicon.
func rosettaDevice() (*vz.VirtioFileSystemDeviceConfiguration, error) {
	return nil, rosettaAvailable()
}
