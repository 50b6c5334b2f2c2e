package vmimage

import (
	"fmt"

	"github.com/containerd/errdefs"
)

// archInfo is what differs between the architectures an image is built for.
type archInfo struct {
	Debian  string // Debian architecture name
	GOARCH  string
	Triplet string // multiarch library directory
	// KernelMeta is the metapackage that names the current kernel package
	// (the generic flavour: it has 9p and Hyper-V vsock, cloud does not).
	KernelMeta   string
	KernelFormat string // what the output kernel file is
}

var arches = map[string]archInfo{
	"amd64": {Debian: "amd64", GOARCH: "amd64", Triplet: "x86_64-linux-gnu",
		KernelMeta: "linux-image-amd64", KernelFormat: "bzImage"},
	"arm64": {Debian: "arm64", GOARCH: "arm64", Triplet: "aarch64-linux-gnu",
		KernelMeta: "linux-image-arm64", KernelFormat: "Image"},
}

func lookupArch(a string) (archInfo, error) {
	ai, ok := arches[a]
	if !ok {
		return archInfo{}, fmt.Errorf("architecture %q: %w (use amd64 or arm64)", a, errdefs.ErrInvalidArgument)
	}
	return ai, nil
}

// RequiredModules are the kernel modules the engine and every VM driver
// need; the build fails when one is missing. Their dependencies are added
// from the kernel's module metadata.
var RequiredModules = []string{
	// first: libcrc32c and ext4 look up the "crc32c" algorithm when they
	// load or mount, and modules.dep cannot name it (a soft dependency on
	// an alias)
	"crc32c_generic",
	// virtio devices (qemu, vz)
	"virtio_pci", "virtio_blk", "virtio_net", "virtio_console", "virtio_rng",
	"vmw_vsock_virtio_transport", "virtiofs", "9p", "9pnet_virtio", "9pnet_fd",
	// the engine: overlay snapshots, bridges, veth, NAT, the data disk
	"overlay", "bridge", "br_netfilter", "veth", "tun",
	// vishvananda/netlink handles open route, xfrm and netfilter sockets
	"xfrm_user",
	"nf_tables", "nft_chain_nat", "nft_masq", "nft_ct", "nft_nat",
	"ext4",
}

// OptionalModules are added when the kernel has them (some exist on one
// architecture only): Hyper-V (the Windows driver), hardware crc32c,
// memory ballooning with free page reporting.
var OptionalModules = []string{
	"hv_vmbus", "hv_sock", "hv_netvsc", "hv_storvsc", "hv_utils", "hv_balloon", "sd_mod",
	"crc32c_intel", "crc32_ce", "virtio_mmio", "virtio_balloon",
	"binfmt_misc", // Rosetta (the vz driver) registers x86_64 binaries with it
}

// userPackages are the Debian packages that hold the programs the agent
// runs (crun, mke2fs), their libraries, the CA roots, and a static busybox
// for `berth machine shell`.
var userPackages = []string{
	"crun", "libc6", "libsystemd0", "libseccomp2", "libcap2", "libyajl2",
	"libgcrypt20", "libgpg-error0", "liblz4-1", "liblzma5", "libzstd1",
	"e2fsprogs", "libext2fs2", "libcom-err2", "libblkid1", "libuuid1",
	"ca-certificates", "busybox-static",
}

// shellApplets are the busybox applets linked in /bin: a shell and the
// tools one looks around a VM with (`berth machine shell`). Applets that
// could stand in for a program the agent runs (mke2fs, mount, modprobe,
// ...) are left out: the agent never finds busybox instead of the real one.
var shellApplets = []string{
	"sh", "ash", "awk", "basename", "cat", "chmod", "chown", "clear", "cp", "cut", "date",
	"dd", "df", "diff", "dirname", "dmesg", "du", "echo", "env", "expr", "false", "find",
	"free", "grep", "head", "hexdump", "hostname", "id", "ip", "kill", "less", "ln", "ls",
	"lsmod", "md5sum", "mkdir", "mktemp", "more", "mv", "nc", "netstat", "nproc", "nslookup",
	"ping", "printf", "ps", "pwd", "readlink", "realpath", "reset", "rm", "rmdir", "sed",
	"seq", "sha256sum", "sleep", "sort", "stat", "stty", "sync", "tail", "tar", "tee",
	"test", "[", "timeout", "top", "touch", "tr", "true", "tty", "uname", "uniq", "uptime",
	"vi", "watch", "wc", "wget", "which", "xargs",
}

// programs are the executables copied from the packages, with the
// symbolic links that name them.
var programs = []struct {
	Path  string
	Links []string
}{
	{Path: "/usr/bin/crun"},
	{Path: "/sbin/mke2fs", Links: []string{"/sbin/mkfs.ext4"}},
	{Path: "/bin/busybox", Links: appletLinks("/bin", shellApplets)},
}

// appletLinks names busybox's applets in dir.
func appletLinks(dir string, applets []string) []string {
	out := make([]string, len(applets))
	for i, a := range applets {
		out[i] = dir + "/" + a
	}
	return out
}
