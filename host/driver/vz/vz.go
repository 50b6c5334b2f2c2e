// Package vz is the driver for Apple's Virtualization.framework (macOS,
// through github.com/Code-Hex/vz/v3 v3.7.1). The VM lives in the machine
// daemon's process: a Linux boot loader with the berth kernel, initramfs and
// command line; a virtio block device for the data disk; a virtio socket
// device over which every agent connection is its own vsock connection to
// port 1024; one virtiofs device per shared folder; NAT networking; the
// serial console copied into the machine's log; a memory balloon; and on
// Apple silicon an optional Rosetta share so amd64 binaries run.
//
// What the VM looks like is decided by BuildConfig, a pure function in a
// file without build tags, so that it is tested on every OS. The code that
// talks to Virtualization.framework is in vz_darwin.go (darwin && cgo) and
// is type-checked against vz v3.7.1's API on Linux by scripts/vzcheck.
// Without cgo on macOS, and on other OSes, the driver reports a clear error.
//
// Running it needs the com.apple.security.virtualization entitlement: a
// release binary is signed with it, a local build is signed ad hoc with
// packaging/macos/sign.sh.
package vz

import (
	"os"
	"runtime"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/driver"
	"github.com/berth-dev/berth/host/driver/bootimage"
	"github.com/berth-dev/berth/host/internal/errkind"
	"github.com/berth-dev/berth/host/internal/hostmem"
	"github.com/berth-dev/berth/host/share"
)

// Name is the driver's registry name.
const Name = "vz"

// Factory makes vz drivers. The zero value looks for the VM image beside
// the executable and shares no folders.
type Factory struct {
	// ImageDirs are searched for the VM image; empty means
	// bootimage.Dirs of the running executable and Home.
	ImageDirs []string
	// Shares are the host folders every machine mounts (virtiofs).
	Shares []share.Share
	// Rosetta adds the Rosetta share on Apple silicon.
	Rosetta bool
	// Home is berth's state dir; its vm/<arch> is searched last (bootimage.Dirs).
	Home string
}

var _ driver.Factory = Factory{}

// Name returns "vz".
func (Factory) Name() string { return Name }

// features: a VM whose sizes apply; host paths reach it through shares.
var features = driver.Features{VM: true, SizesApply: true}

// imageDirs returns where to look for the VM image.
func (f Factory) imageDirs() []string {
	if len(f.ImageDirs) > 0 {
		return f.ImageDirs
	}
	exe, _ := os.Executable()
	return bootimage.Dirs(exe, f.Home, runtime.GOARCH)
}

// input gathers what BuildConfig needs for inst, reading the image and
// checking that every shared folder exists.
func (f Factory) input(inst driver.Instance) (Input, error) {
	img, err := bootimage.Find(f.imageDirs())
	if err != nil {
		return Input{}, err
	}
	hdr, err := readHeader(img.Kernel, 1024)
	if err != nil {
		return Input{}, err
	}
	for _, s := range f.Shares {
		if fi, err := os.Stat(s.HostPath); err != nil || !fi.IsDir() {
			return Input{}, errkind.New(errdefs.ErrInvalidArgument,
				"shared folder %s does not exist or is not a folder; remove it from the machine's shares", s.HostPath)
		}
	}
	return Input{
		Dir: inst.Dir, CPUs: inst.CPUs, MemoryBytes: inst.MemoryBytes, DiskBytes: inst.DiskBytes,
		Image: img, KernelHeader: hdr, Shares: f.Shares, Rosetta: f.Rosetta || inst.Rosetta,
		GOARCH: runtime.GOARCH, HostCPUs: runtime.NumCPU(), HostMemory: hostmem.Total(),
	}, nil
}

// readHeader returns up to n bytes from the start of path.
func readHeader(path string, n int) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b := make([]byte, n)
	m, _ := fh.Read(b)
	return b[:m], nil
}
