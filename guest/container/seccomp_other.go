//go:build !linux

package container

import (
	"fmt"

	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func defaultSeccomp(*specs.Spec) (*specs.LinuxSeccomp, error) {
	return nil, fmt.Errorf("containers run only on Linux: %w", errdefs.ErrNotImplemented)
}
