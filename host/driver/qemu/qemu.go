// Package qemu is the driver that runs a machine in a QEMU virtual machine
// (Linux, Intel Macs): the berth kernel and initramfs booted directly (on
// amd64 Linux through the kernel's PVH entry, decompressed once on the
// host: pvh.go), the data disk as a sparse raw file on virtio-blk (discard passed through, so
// fstrim in the guest gives space back), user-mode networking, folder
// shares over virtiofs (Debian's virtiofsd) or 9p, the serial console in
// console.log in the machine's dir, and a QMP socket to stop the VM.
//
// The agent is reached over vhost-vsock when the host has /dev/vhost-vsock;
// otherwise over a virtio-serial port named berth.agent whose host side is
// a unix socket carrying transport.SerialMux (one yamux stream per agent
// connection). KVM is used when /dev/kvm is usable, HVF on macOS, else
// TCG software emulation.
//
// The command line is built by BuildPlan, a pure function tested on every
// OS; running qemu is in run_unix.go.
package qemu

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/driver"
	"github.com/berth-dev/berth/host/driver/bootimage"
	"github.com/berth-dev/berth/host/internal/errkind"
	"github.com/berth-dev/berth/host/share"
)

// Name is the driver's registry name.
const Name = "qemu"

// DefaultBootTimeout bounds the time from starting qemu until the agent's
// connection answers; after it the VM is killed and the error quotes the
// console log. It is below the machine daemon's own readiness timeout.
const DefaultBootTimeout = 75 * time.Second

// Factory makes qemu drivers. The zero value finds qemu in PATH and the VM
// image beside the executable, and shares no folders.
type Factory struct {
	// ImageDirs, when set, are the only places the VM image is looked for.
	ImageDirs []string
	// Home is berth's state dir; the image is also looked for in
	// Home/vm/<arch>. Empty skips it.
	Home string
	// Shares are the host folders every machine mounts.
	Shares []share.Share
	// QEMU is the emulator binary; empty looks up qemu-system-<arch> in PATH.
	QEMU string
	// Virtiofsd is the virtiofsd binary; empty uses DefaultVirtiofsd when
	// it exists, else shares go over 9p.
	Virtiofsd string
	// BootTimeout overrides DefaultBootTimeout.
	BootTimeout time.Duration
}

// DefaultVirtiofsd is where Debian's qemu package installs virtiofsd.
const DefaultVirtiofsd = "/usr/lib/qemu/virtiofsd"

var _ driver.Factory = Factory{}

// Name returns "qemu".
func (Factory) Name() string { return Name }

var features = driver.Features{VM: true, SizesApply: true}

// DefaultShares are the folders a qemu machine shares on goos: the user's
// home and the temp dir on Linux (never "/": the guest mounts shares at
// their host path), the usual folders on macOS.
func DefaultShares(goos, home string) []share.Share {
	if goos == share.Darwin {
		return share.DefaultShares(goos, home)
	}
	var s []share.Share
	if home != "" && home != "/" {
		s = append(s, share.Share{HostPath: home, VMPath: home})
	}
	return append(s, share.Share{HostPath: "/tmp", VMPath: "/tmp"})
}

// Available reports whether qemu for this host's architecture is installed.
func (f Factory) Available() error {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		return errkind.New(errdefs.ErrNotImplemented, "the qemu driver runs on Linux and macOS, not %s", runtime.GOOS)
	}
	_, err := f.qemuPath()
	return err
}

// qemuPath finds the emulator.
func (f Factory) qemuPath() (string, error) {
	bin, err := Binary(runtime.GOARCH)
	if err != nil {
		return "", err
	}
	if f.QEMU != "" {
		bin = f.QEMU
	}
	p, err := exec.LookPath(bin)
	if err != nil {
		return "", errkind.New(errdefs.ErrFailedPrecondition, "%s not found; install it: %s", bin, installHint())
	}
	return p, nil
}

func installHint() string {
	if runtime.GOOS == "darwin" {
		return "brew install qemu"
	}
	if runtime.GOARCH == "arm64" {
		return "apt-get install qemu-system-arm"
	}
	return "apt-get install qemu-system-x86"
}

// ImageDirs returns where the VM image for goarch is looked for, in order:
// beside the executable exe (../share/berth/vm/<arch>, <bindir>/vm and
// bootimage.Search's places), then home/vm/<arch>.
func ImageDirs(exe, home, goarch string) []string {
	var dirs []string
	if exe != "" {
		bin := filepath.Dir(exe)
		dirs = append(dirs, filepath.Join(bin, "..", "share", "berth", "vm", goarch), filepath.Join(bin, "vm"))
		dirs = append(dirs, bootimage.Search(exe)...)
	}
	if home != "" {
		dirs = append(dirs, filepath.Join(home, "vm", goarch))
	}
	return dirs
}

// findImage returns the VM image to boot, checked for this architecture:
// the machine's own (--image) when it has one, else the first found.
func (f Factory) findImage(machineImage string) (bootimage.Image, error) {
	if machineImage != "" {
		img, err := bootimage.Open(machineImage)
		if errors.Is(err, fs.ErrNotExist) {
			return img, errkind.New(errdefs.ErrNotFound, "no berth VM image (%s) in %s (the machine's --image); build one there: berth-vmimage build --arch %s --out %s",
				bootimage.ManifestFile, machineImage, runtime.GOARCH, machineImage)
		}
		if err != nil {
			return img, err
		}
		return img, img.CheckArch(runtime.GOARCH)
	}
	dirs := f.ImageDirs
	if len(dirs) == 0 {
		exe, _ := os.Executable()
		dirs = ImageDirs(exe, f.Home, runtime.GOARCH)
	}
	img, err := bootimage.Find(dirs)
	if errdefs.IsNotFound(err) {
		return img, errkind.New(errdefs.ErrNotFound, "%v; or build one: berth-vmimage build --arch %s --out %s",
			err, runtime.GOARCH, dirs[len(dirs)-1])
	}
	if err != nil {
		return img, err
	}
	return img, img.CheckArch(runtime.GOARCH)
}

// accel picks the fastest accelerator the host offers.
func accel() string {
	switch runtime.GOOS {
	case "darwin":
		return AccelHVF
	case "linux":
		if fh, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err == nil {
			fh.Close()
			return AccelKVM
		}
	}
	return AccelTCG
}

// virtiofsd returns the virtiofsd binary, or "" for 9p.
func (f Factory) virtiofsd() string {
	p := f.Virtiofsd
	if p == "" {
		p = DefaultVirtiofsd
	}
	if runtime.GOOS != "linux" {
		return ""
	}
	if fi, err := os.Stat(p); err != nil || fi.IsDir() {
		return ""
	}
	return p
}

// New returns a driver for inst.
func (f Factory) New(inst driver.Instance) (driver.Driver, error) {
	if inst.Dir == "" || inst.Name == "" {
		return nil, errors.New("qemu: machine has no name or dir")
	}
	return newDriver(f, inst), nil
}

// Info part of the driver, shared by every OS.
type info struct{}

// Name returns "qemu".
func (info) Name() string { return Name }

// Features: a VM whose sizes apply.
func (info) Features() driver.Features { return features }
