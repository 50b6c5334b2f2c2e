//go:build darwin && !cgo

package vz

import (
	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/internal/errkind"
)

func errUnavailable() error {
	return errkind.New(errdefs.ErrNotImplemented,
		"the vz driver needs a cgo build of berth (CGO_ENABLED=1 with the macOS SDK); this berth was built without cgo: use a release build or --driver qemu")
}
