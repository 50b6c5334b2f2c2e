package machine

import (
	"runtime"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/driver"
	"github.com/berth-dev/berth/host/internal/errkind"
	"github.com/berth-dev/berth/host/internal/hostmem"
)

// hostSize is what the host has; zero values are unknown and not checked.
type hostSize struct {
	CPUs   int
	Memory int64
}

// thisHost returns this host's CPUs and memory.
func thisHost() hostSize { return hostSize{CPUs: runtime.NumCPU(), Memory: hostmem.Total()} }

// checkHostSize refuses CPU or memory sizes the host does not have, for
// drivers whose sizes apply (VMs); it runs before anything is created.
func checkHostSize(f driver.Factory, cfg Config, h hostSize) error {
	if !sizesApply(f, cfg.Name) {
		return nil
	}
	switch {
	case h.CPUs > 0 && cfg.CPUs > h.CPUs:
		return errkind.New(errdefs.ErrInvalidArgument,
			"machine %q: --cpus %d is more than this host has (%d); use %d or fewer", cfg.Name, cfg.CPUs, h.CPUs, h.CPUs)
	case h.Memory > 0 && cfg.Memory > h.Memory:
		return errkind.New(errdefs.ErrInvalidArgument,
			"machine %q: --memory %dMiB is more than this host has (%dMiB); use less", cfg.Name, cfg.Memory>>20, h.Memory>>20)
	}
	return nil
}

// sizesApply tells whether f's drivers are limited by CPUs and memory. A
// driver that cannot say (an error, or a partial driver that panics, as
// test doubles may) is not checked.
func sizesApply(f driver.Factory, name string) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	d, err := f.New(driver.Instance{Name: name})
	return err == nil && d != nil && d.Features().SizesApply
}
