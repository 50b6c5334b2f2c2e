package vz

import (
	"strconv"
	"strings"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/internal/errkind"
)

// MinMacOS is the oldest macOS the driver runs on: virtiofs needs 12, the
// Rosetta share and a reliable NAT device 13.
const MinMacOS = 13

// checkMacOS returns a clear error when product (kern.osproductversion,
// "14.5") is older than MinMacOS or cannot be read.
func checkMacOS(product string) error {
	major, err := strconv.Atoi(strings.SplitN(strings.TrimSpace(product), ".", 2)[0])
	if err != nil {
		return errkind.New(errdefs.ErrFailedPrecondition, "cannot tell the macOS version (%q); the vz driver needs macOS %d or later", product, MinMacOS)
	}
	if major < MinMacOS {
		return errkind.New(errdefs.ErrNotImplemented,
			"the vz driver needs macOS %d or later, this Mac runs %s; update macOS or use --driver qemu", MinMacOS, product)
	}
	return nil
}

// entitlement is the entitlement Virtualization.framework needs.
const entitlement = "com.apple.security.virtualization"

// explainVZError turns the framework's errors into what the user can do.
func explainVZError(what string, err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, entitlement):
		return errkind.New(errdefs.ErrFailedPrecondition,
			"%s: this berth binary is not signed with the %s entitlement; sign it: codesign -s - --entitlements packaging/macos/berth.entitlements --force $(command -v berth)",
			what, entitlement)
	case strings.Contains(msg, "unsupported macOS version"):
		return errkind.New(errdefs.ErrNotImplemented, "%s: %v; the vz driver needs macOS %d or later", what, err, MinMacOS)
	}
	return errkind.New(errdefs.ErrUnknown, "%s: %w", what, err)
}
