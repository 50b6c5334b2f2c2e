//go:build !linux

package volume

import (
	"fmt"
	"runtime"

	"github.com/containerd/errdefs"
)

func mountVolume(v *Volume) error {
	return fmt.Errorf("volumes with mount options need Linux, not %s: %w", runtime.GOOS, errdefs.ErrNotImplemented)
}

func unmountVolume(v *Volume) error { return nil }
