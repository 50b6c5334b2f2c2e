//go:build darwin && cgo && arm64

package vz

import (
	"github.com/Code-Hex/vz/v3"
	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/internal/errkind"
)

// rosettaAvailable says why the Rosetta share cannot be made, or nil.
func rosettaAvailable() error {
	switch vz.LinuxRosettaDirectoryShareAvailability() {
	case vz.LinuxRosettaAvailabilityNotSupported:
		return errkind.New(errdefs.ErrNotImplemented, "Rosetta for Linux is not supported on this Mac (it needs macOS 13 on Apple silicon)")
	case vz.LinuxRosettaAvailabilityNotInstalled:
		return errkind.New(errdefs.ErrFailedPrecondition, "Rosetta is not installed; install it with: softwareupdate --install-rosetta")
	}
	return nil
}

// rosettaDevice is the virtiofs device of the Rosetta share.
func rosettaDevice() (*vz.VirtioFileSystemDeviceConfiguration, error) {
	if err := rosettaAvailable(); err != nil {
		return nil, err
	}
	share, err := vz.NewLinuxRosettaDirectoryShare()
	if err != nil {
		return nil, explainVZError("Rosetta share", err)
	}
	fs, err := vz.NewVirtioFileSystemDeviceConfiguration(rosettaTag)
	if err != nil {
		return nil, explainVZError("Rosetta share", err)
	}
	fs.SetDirectoryShare(share)
	return fs, nil
}
