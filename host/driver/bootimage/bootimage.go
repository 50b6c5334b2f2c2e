// Package bootimage finds the VM image a VM driver boots (the berth kernel,
// its initramfs and manifest.json, as cmd/berth-vmimage writes them) and
// builds the parts of the kernel command line that every VM driver shares.
//
// The image is looked for in a list of directories; Search returns the
// usual list for an installed berth (beside the binary, and the Homebrew /
// Linux share layout). Nothing here reads the environment: callers pass the
// directories.
package bootimage

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/internal/errkind"
)

// ManifestFile is the image's manifest, beside the kernel and initramfs.
const ManifestFile = "manifest.json"

// Default file names when the manifest does not name them.
const (
	DefaultKernel = "kernel"
	DefaultInitrd = "initramfs"
)

// Manifest describes an image (manifest.json).
type Manifest struct {
	// Version is the berth version the image was built for; it must match
	// the binary's.
	Version string `json:"version"`
	// Arch is the Linux architecture of the kernel ("amd64", "arm64").
	Arch string `json:"arch"`
	// Kernel and Initramfs are file names relative to the manifest.
	Kernel    string `json:"kernel,omitempty"`
	Initramfs string `json:"initramfs,omitempty"`
	// KernelFormat is "Image" (uncompressed arm64, what vz needs),
	// "bzImage" or "vmlinuz"; empty when the builder did not say.
	KernelFormat string `json:"kernelFormat,omitempty"`
}

// Image is a VM image found on disk.
type Image struct {
	// Dir holds the image's files.
	Dir      string
	Manifest Manifest
	// Kernel and Initrd are absolute paths.
	Kernel string
	Initrd string
}

// Search returns the directories an installed berth keeps its image in,
// for the executable at exe: <exe dir>/vmimage (release archives) and
// <exe dir>/../share/berth/vmimage (Homebrew, Linux packages). (Not
// <exe dir>/berth-vmimage: that is the berth-vmimage tool itself.)
func Search(exe string) []string {
	d := filepath.Dir(exe)
	return []string{
		filepath.Join(d, "vmimage"),
		filepath.Join(d, "..", "share", "berth", "vmimage"),
	}
}

// Dirs is the full search list of every VM driver: beside the executable
// exe (../share/berth/vm/<arch>, <bin dir>/vm, then Search's places), then
// home/vm/<arch> (where `berth-vmimage build` puts a developer's image).
// Empty exe or home leave their places out.
func Dirs(exe, home, goarch string) []string {
	var dirs []string
	if exe != "" {
		bin := filepath.Dir(exe)
		dirs = append(dirs, filepath.Join(bin, "..", "share", "berth", "vm", goarch), filepath.Join(bin, "vm"))
		dirs = append(dirs, Search(exe)...)
	}
	if home != "" {
		dirs = append(dirs, filepath.Join(home, "vm", goarch))
	}
	return dirs
}

// Find returns the first image found in dirs. No image anywhere is an
// errdefs.ErrNotFound error naming the places looked at; an image whose
// manifest is unreadable or whose files are missing is an error about that
// image.
func Find(dirs []string) (Image, error) {
	for _, d := range dirs {
		img, err := Open(d)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			continue // nothing there, or a file of that name
		}
		return img, err
	}
	return Image{}, errkind.New(errdefs.ErrNotFound,
		"no berth VM image (%s) in %s; install the VM image that came with this berth release beside the binary",
		ManifestFile, strings.Join(dirs, ", "))
}

// Open reads the image in dir. A missing manifest is an error that matches
// fs.ErrNotExist.
func Open(dir string) (Image, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return Image{}, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return Image{}, errkind.New(errdefs.ErrInvalidArgument, "VM image %s: bad %s: %v", dir, ManifestFile, err)
	}
	if m.Kernel == "" {
		m.Kernel = DefaultKernel
	}
	if m.Initramfs == "" {
		m.Initramfs = DefaultInitrd
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Image{}, err
	}
	img := Image{Dir: abs, Manifest: m,
		Kernel: filepath.Join(abs, m.Kernel), Initrd: filepath.Join(abs, m.Initramfs)}
	for _, p := range []string{img.Kernel, img.Initrd} {
		if _, err := os.Stat(p); err != nil {
			return Image{}, errkind.New(errdefs.ErrFailedPrecondition,
				"VM image %s is incomplete: %v; reinstall berth's VM image", dir, err)
		}
	}
	return img, nil
}

// CheckVersion returns an error when the image was built for another berth
// version than want. Development builds ("dev", "") accept any image.
func (img Image) CheckVersion(want string) error {
	if want == "" || want == "dev" || img.Manifest.Version == want {
		return nil
	}
	return errkind.New(errdefs.ErrFailedPrecondition,
		"VM image %s is for berth %s, but this is berth %s; install the VM image of this release",
		img.Dir, orUnknown(img.Manifest.Version), want)
}

// CheckArch returns an error when the kernel is not for goarch.
func (img Image) CheckArch(goarch string) error {
	if img.Manifest.Arch == "" || img.Manifest.Arch == goarch {
		return nil
	}
	return errkind.New(errdefs.ErrFailedPrecondition,
		"VM image %s has a %s kernel, but this machine needs %s; install the %s VM image",
		img.Dir, img.Manifest.Arch, goarch, goarch)
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown version"
	}
	return s
}

// AgentPort is the vsock port the agent listens on in a VM (proto/PROTOCOL.md).
const AgentPort = 1024

// Cmdline returns the kernel command line a VM driver boots with: the
// console, the agent's port and quiet boot, then extra (driver specific
// berth.* parameters), in order.
func Cmdline(console string, extra ...string) string {
	parts := []string{"console=" + console, "panic=-1", "quiet", fmt.Sprintf("berth.port=%d", AgentPort)}
	for _, e := range extra {
		if e != "" {
			parts = append(parts, e)
		}
	}
	return strings.Join(parts, " ")
}

// BootParams are the guest/init parameters every VM driver passes when it
// has them: the host's time (berth.time, Unix nanoseconds) and entropy
// (berth.seed, hex). Zero values are left out.
func BootParams(now time.Time, seed []byte) []string {
	var out []string
	if !now.IsZero() {
		out = append(out, fmt.Sprintf("berth.time=%d", now.UnixNano()))
	}
	if len(seed) > 0 {
		out = append(out, "berth.seed="+hex.EncodeToString(seed))
	}
	return out
}
