// Package driver is the contract between a berth machine and the thing that
// runs its guest: a VM (qemu, vz, hcs) or, for the native driver, the host
// itself. One file holds the whole contract: small role interfaces, a
// Features struct for yes/no abilities, and a registry of drivers by name.
//
// The machine daemon is the only user: it creates one Driver per machine with
// a Factory, starts the guest, dials the agent for every client connection,
// and stops the guest when it is told to stop.
package driver

import (
	"context"
	"io"
	"net"
	"runtime"
	"slices"
	"sort"
	"strings"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/internal/errkind"
)

// Instance is what a driver knows about the machine it runs. It is built by
// the machine package from the stored config; drivers never read config files.
type Instance struct {
	// Name is the machine's name ("default").
	Name string
	// Dir is the machine's state dir. The driver owns the files it creates
	// there (disks, sockets, pid files) and removes them in Delete.
	Dir string
	// CPUs, MemoryBytes and DiskBytes size a VM; drivers without a VM ignore them.
	CPUs        int
	MemoryBytes int64
	DiskBytes   int64
	// Image is the VM image dir given at init (--image); empty means the
	// driver's usual places. Drivers without a VM ignore it.
	Image string
	// Shares are host folders shared at the same path, beside the ones
	// the driver's factory shares (berth machine init --share).
	Shares []string
	// InsecureRegistries are passed to the agent: registries it may reach
	// over plain HTTP.
	InsecureRegistries []string
	// Rosetta asks the vz driver for Apple's Rosetta share, so amd64
	// binaries run in the arm64 VM (berth machine init --rosetta); the
	// machine config allows it for vz only, other drivers ignore it.
	Rosetta bool
	// Log receives the guest's console or the agent's output; nil discards it.
	Log io.Writer
}

// Features are a driver's yes/no abilities.
type Features struct {
	// VM is true when the guest runs in a virtual machine with its own kernel.
	VM bool
	// NeedsRoot is true when the driver only works for root on the host.
	NeedsRoot bool
	// SameFilesystem is true when host paths are visible unchanged to the
	// agent, so bind mounts need no folder shares.
	SameFilesystem bool
	// SizesApply is true when CPUs, memory and disk size limit the guest.
	SizesApply bool
}

// Info describes a driver.
type Info interface {
	// Name is the registry name ("native", "qemu", ...).
	Name() string
	// Features are the driver's abilities; they never change.
	Features() Features
}

// Lifecycle creates, runs and removes the guest.
type Lifecycle interface {
	// Create prepares the machine's files in Instance.Dir (disk images, ...).
	// It is called once, by `berth machine init`, before the first Start.
	Create(ctx context.Context) error

	// Start starts the guest and returns as soon as it runs; the agent may
	// not answer yet (see AgentDialer). The returned channel receives one
	// value when the guest exits, nil when Stop asked for it, an error when it
	// died on its own, and is then closed. Start on a running guest fails with
	// errdefs.ErrAlreadyExists. ctx bounds only the start itself, not the
	// guest's life.
	Start(ctx context.Context) (<-chan error, error)

	// Stop stops the guest, gracefully first and forcibly when ctx ends, and
	// returns once it has exited. Stop MUST be idempotent: stopping a guest
	// that is not running returns nil.
	Stop(ctx context.Context) error

	// Delete removes every file Create and Start made. The guest MUST be
	// stopped. Delete MUST be idempotent.
	Delete(ctx context.Context) error
}

// AgentDialer reaches the agent inside a running guest.
type AgentDialer interface {
	// DialAgent opens a new connection to the agent's listener. Each call
	// returns a fresh connection; the caller writes the stream header
	// (proto/stream) and owns the connection. It fails fast (no retry) when
	// the agent is not listening yet; callers retry with transport.Retry.
	DialAgent(ctx context.Context) (net.Conn, error)
}

// Driver is what every driver implements.
type Driver interface {
	Info
	Lifecycle
	AgentDialer
}

// MemoryBalloon is an optional ability of a running VM's driver, found by
// type assertion: a memory balloon through which the guest gives memory
// back to the host.
type MemoryBalloon interface {
	// SetMemoryTarget asks the guest to use at most bytes of memory (at
	// most Instance.MemoryBytes); what it gives up returns to the host.
	// It fails with errdefs.ErrUnavailable when the guest is not running.
	SetMemoryTarget(ctx context.Context, bytes uint64) error
}

// Factory makes drivers of one kind.
type Factory interface {
	// Name is the driver's registry name.
	Name() string
	// Available returns nil when the driver can run here, else an error that
	// says why and what to do (wrapping errdefs.ErrNotImplemented when the
	// OS cannot run it, errdefs.ErrFailedPrecondition when something is
	// missing).
	Available() error
	// New returns a driver bound to one machine. It does not start anything.
	New(inst Instance) (Driver, error)
}

// platforms lists every driver berth knows and the OSes it runs on, so that
// "vz" on Linux is "not available here" rather than "unknown".
var platforms = map[string][]string{
	"native": {"linux"},
	"qemu":   {"linux", "darwin"},
	"vz":     {"darwin"},
	"hcs":    {"windows"},
}

// defaults is the driver a new machine gets on each OS.
var defaults = map[string]string{
	"linux":   "native",
	"darwin":  "vz",
	"windows": "hcs",
}

// Registry holds the drivers of this build by name.
type Registry struct {
	factories map[string]Factory
	goos      string
}

// NewRegistry returns a registry holding fs, for the OS berth runs on.
func NewRegistry(fs ...Factory) *Registry {
	r := &Registry{factories: map[string]Factory{}, goos: runtime.GOOS}
	for _, f := range fs {
		r.factories[f.Name()] = f
	}
	return r
}

// Default returns the name of the driver new machines get on this OS.
func (r *Registry) Default() string {
	if d, ok := defaults[r.goos]; ok {
		return d
	}
	return "qemu"
}

// Known returns the names of every driver berth knows, sorted.
func (r *Registry) Known() []string {
	var names []string
	for n := range platforms {
		names = append(names, n)
	}
	for n := range r.factories {
		if _, ok := platforms[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// Get returns the factory for name, or a clear error when the name is
// unknown (errdefs.ErrInvalidArgument), the driver does not run on this OS
// or is not part of this build (errdefs.ErrNotImplemented), or it cannot run
// here right now (whatever Available says).
func (r *Registry) Get(name string) (Factory, error) {
	f, ok := r.factories[name]
	oses, known := platforms[name]
	switch {
	case !ok && !known:
		return nil, errkind.New(errdefs.ErrInvalidArgument, "invalid driver %q: known drivers are %s",
			name, strings.Join(r.Known(), ", "))
	case known && !slices.Contains(oses, r.goos):
		return nil, errkind.New(errdefs.ErrNotImplemented, "driver %q does not run on %s (it runs on %s); use --driver %s",
			name, r.goos, strings.Join(oses, ", "), r.Default())
	case !ok:
		return nil, errkind.New(errdefs.ErrNotImplemented, "driver %q is not part of this build of berth yet",
			name)
	}
	if err := f.Available(); err != nil {
		return nil, err
	}
	return f, nil
}
