package hcs

import (
	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/internal/errkind"
)

// MinBuild is the first Windows build whose HCS boots a Linux kernel
// directly (Chipset.LinuxKernelDirect).
const MinBuild = 18286

// checkBuild returns a clear error when Windows build is too old.
func checkBuild(build uint16) error {
	if build < MinBuild {
		return errkind.New(errdefs.ErrNotImplemented,
			"the hcs driver needs Windows 10 build %d (version 1903) or later for direct Linux kernel boot; this is build %d: update Windows",
			MinBuild, build)
	}
	return nil
}
