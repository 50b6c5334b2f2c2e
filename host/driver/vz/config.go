package vz

import (
	"encoding/binary"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/driver"
	"github.com/berth-dev/berth/host/driver/bootimage"
	"github.com/berth-dev/berth/host/internal/errkind"
	"github.com/berth-dev/berth/host/share"
)

// Files in the machine's dir.
const (
	diskFile = "disk.img"
)

// Guest-side names.
const (
	// console is the virtio console the guest kernel writes to.
	guestConsole = "hvc0"
	// rosettaTag is the virtiofs tag of the Rosetta share.
	rosettaTag = "rosetta"
	// maxTagLen is Virtualization.framework's limit on a virtiofs tag.
	maxTagLen = 36
)

// Input is what the VM configuration is built from.
type Input struct {
	// Dir is the machine's state dir.
	Dir         string
	CPUs        int
	MemoryBytes int64
	DiskBytes   int64
	Image       bootimage.Image
	// KernelHeader is the start of the kernel file (at least 64 bytes), to
	// tell an arm64 Image from an x86 bzImage.
	KernelHeader []byte
	Shares       []share.Share
	Rosetta      bool
	// GOARCH is the host's architecture ("arm64" on Apple silicon).
	GOARCH string
	// HostCPUs and HostMemory bound CPUs and MemoryBytes; zero skips the check.
	HostCPUs   int
	HostMemory int64
	// Now and Seed are the host's time and entropy for the guest; zero
	// values are left off the command line.
	Now  time.Time
	Seed []byte
}

// Share is one virtiofs device.
type Share struct {
	Tag      string
	HostPath string
	VMPath   string
}

// Config is the VM as plain data: everything the darwin code hands to
// Virtualization.framework. It is built by BuildConfig, which is pure.
type Config struct {
	Kernel      string
	Initrd      string
	Cmdline     string
	CPUs        uint
	MemoryBytes uint64
	// Disk is the raw data disk image, attached as a virtio block device.
	Disk      string
	DiskBytes int64
	// VsockPort is the agent's port on the virtio socket device.
	VsockPort uint32
	// Shares are virtiofs devices, one per shared folder.
	Shares []Share
	// Rosetta adds the Rosetta share (tag rosettaTag).
	Rosetta bool
	// NAT adds one virtio network device on vz's NAT.
	NAT bool
	// Balloon adds a traditional memory balloon device.
	Balloon bool
}

// BuildConfig checks in and returns the VM's configuration. Errors are
// clear and come before anything is created: CPUs or memory beyond the
// host's, an x86 kernel on arm64, Rosetta off Apple silicon, a bad share.
func BuildConfig(in Input) (Config, error) {
	sizes := driver.Sizes{CPUs: in.CPUs, MemoryBytes: in.MemoryBytes, HostCPUs: in.HostCPUs, HostMemory: in.HostMemory}
	if err := sizes.Check("Mac"); err != nil {
		return Config{}, err
	}
	if err := checkKernel(in); err != nil {
		return Config{}, err
	}
	if in.Rosetta && in.GOARCH != "arm64" {
		return Config{}, errkind.New(errdefs.ErrInvalidArgument,
			"--rosetta needs a Mac with Apple silicon; this one is %s", in.GOARCH)
	}
	shares, err := virtiofsShares(in.Shares)
	if err != nil {
		return Config{}, err
	}
	extra := append(sharesParams(shares), bootimage.BootParams(in.Now, in.Seed)...)
	if in.Rosetta {
		extra = append(extra, "berth.rosetta="+rosettaTag)
	}
	return Config{
		Kernel:      in.Image.Kernel,
		Initrd:      in.Image.Initrd,
		Cmdline:     bootimage.Cmdline(guestConsole, extra...),
		CPUs:        uint(in.CPUs),
		MemoryBytes: uint64(in.MemoryBytes),
		Disk:        filepath.Join(in.Dir, diskFile),
		DiskBytes:   in.DiskBytes,
		VsockPort:   bootimage.AgentPort,
		Shares:      shares,
		Rosetta:     in.Rosetta,
		NAT:         true,
		Balloon:     true,
	}, nil
}

// Kernel image magics.
const (
	arm64Magic    = 0x644d5241 // "ARM\x64" at offset 56 of an arm64 Image
	arm64MagicOff = 56
	x86HdrOff     = 0x202 // "HdrS" in an x86 boot sector
)

// KernelArch tells the architecture of a kernel from its first bytes:
// "arm64" for an uncompressed arm64 Image, "amd64" for an x86 bzImage,
// "" when it cannot tell (for example a compressed arm64 vmlinuz).
func KernelArch(header []byte) string {
	if len(header) >= arm64MagicOff+4 && binary.LittleEndian.Uint32(header[arm64MagicOff:]) == arm64Magic {
		return "arm64"
	}
	if len(header) >= x86HdrOff+4 && string(header[x86HdrOff:x86HdrOff+4]) == "HdrS" {
		return "amd64"
	}
	return ""
}

// checkKernel refuses a kernel Virtualization.framework cannot boot here:
// an image for another architecture, or on arm64 anything but an
// uncompressed Image (vz does not decompress arm64 kernels).
func checkKernel(in Input) error {
	if err := in.Image.CheckArch(in.GOARCH); err != nil {
		return err
	}
	got := KernelArch(in.KernelHeader)
	switch {
	case in.GOARCH == "arm64" && got == "amd64":
		return errkind.New(errdefs.ErrFailedPrecondition,
			"kernel %s is an x86 kernel, but this Mac has Apple silicon; install the arm64 VM image", in.Image.Kernel)
	case in.GOARCH == "arm64" && got != "arm64":
		return errkind.New(errdefs.ErrFailedPrecondition,
			"kernel %s is not an uncompressed arm64 Image, which Virtualization.framework needs; install the arm64 VM image", in.Image.Kernel)
	case in.GOARCH == "amd64" && got == "arm64":
		return errkind.New(errdefs.ErrFailedPrecondition,
			"kernel %s is an arm64 kernel, but this Mac has an Intel CPU; install the amd64 VM image", in.Image.Kernel)
	}
	return nil
}

// virtiofsShares names one virtiofs device per share. Shares must be
// absolute host paths; the existence of each folder is checked by the
// caller, which can stat.
func virtiofsShares(in []share.Share) ([]Share, error) {
	out := make([]Share, 0, len(in))
	seen := map[string]bool{}
	for i, s := range in {
		if !strings.HasPrefix(s.HostPath, "/") || !strings.HasPrefix(s.VMPath, "/") {
			return nil, errkind.New(errdefs.ErrInvalidArgument,
				"share %q:%q: both paths must be absolute", s.HostPath, s.VMPath)
		}
		if seen[s.VMPath] {
			return nil, errkind.New(errdefs.ErrInvalidArgument, "two shares mount at %s", s.VMPath)
		}
		seen[s.VMPath] = true
		tag := fmt.Sprintf("berth%d", i)
		if len(tag) > maxTagLen {
			return nil, errkind.New(errdefs.ErrInvalidArgument, "too many shares")
		}
		out = append(out, Share{Tag: tag, HostPath: s.HostPath, VMPath: s.VMPath})
	}
	return out, nil
}

// sharesParams are the berth.share= kernel parameters (guest/init) that
// tell the guest what to mount: one TAG:PATH per virtiofs share, the path
// escaped with url.PathEscape (no spaces or commas reach the command line).
func sharesParams(shares []Share) []string {
	out := make([]string, len(shares))
	for i, s := range shares {
		out[i] = "berth.share=" + s.Tag + ":" + url.PathEscape(s.VMPath)
	}
	return out
}
