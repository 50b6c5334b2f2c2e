//go:build !darwin

package vz

import (
	"runtime"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/internal/errkind"
)

func errUnavailable() error {
	return errkind.New(errdefs.ErrNotImplemented, "the vz driver runs only on macOS, not %s", runtime.GOOS)
}
