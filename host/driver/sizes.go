package driver

import (
	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/internal/errkind"
)

// MinMemory is the least memory a VM driver boots a guest with.
const MinMemory = 128 << 20

// Sizes are the CPUs and memory asked of a VM and what the host has.
type Sizes struct {
	CPUs        int
	MemoryBytes int64
	// HostCPUs and HostMemory bound CPUs and MemoryBytes; zero skips the
	// check.
	HostCPUs   int
	HostMemory int64
}

// Check returns an InvalidArgument error, in the words of the --cpus and
// --memory flags, when s is too small to boot or asks for more than the
// host has. host names the computer in the message ("Mac", "PC").
func (s Sizes) Check(host string) error {
	switch {
	case s.CPUs < 1:
		return errkind.New(errdefs.ErrInvalidArgument, "cpus must be at least 1, not %d", s.CPUs)
	case s.HostCPUs > 0 && s.CPUs > s.HostCPUs:
		return errkind.New(errdefs.ErrInvalidArgument,
			"cpus %d is more than this %s has (%d); use --cpus %d or fewer", s.CPUs, host, s.HostCPUs, s.HostCPUs)
	case s.MemoryBytes < MinMemory:
		return errkind.New(errdefs.ErrInvalidArgument, "memory must be at least %dMiB", MinMemory>>20)
	case s.HostMemory > 0 && s.MemoryBytes > s.HostMemory:
		return errkind.New(errdefs.ErrInvalidArgument,
			"memory %dMiB is more than this %s has (%dMiB); use a smaller --memory", s.MemoryBytes>>20, host, s.HostMemory>>20)
	}
	return nil
}
