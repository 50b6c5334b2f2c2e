package qemu

import (
	"encoding/hex"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/driver/bootimage"
	"github.com/berth-dev/berth/host/internal/errkind"
	"github.com/berth-dev/berth/host/share"
)

// Files in the machine's dir.
const (
	diskFile    = "disk.img"
	consoleFile = "console.log"
	qmpSocket   = "qmp.sock"
	agentSocket = "agent.sock"
	pidFile     = "qemu.pid"
)

// Accelerators.
const (
	AccelKVM = "kvm"
	AccelHVF = "hvf"
	AccelTCG = "tcg"
)

// SerialPortName is the virtio-serial port the guest finds the agent's
// multiplexer on (guest/init looks for it by this name).
const SerialPortName = "berth.agent"

// User-mode network addresses (qemu's slirp defaults), given to the guest
// statically so that it needs no DHCP round trip at boot.
const userNetIP = "berth.ip=10.0.2.15/24,gw=10.0.2.2,dns=10.0.2.3"

// Input is what the qemu command line is built from.
type Input struct {
	// Name is the machine's name; Dir its state dir.
	Name        string
	Dir         string
	CPUs        int
	MemoryBytes int64
	Image       bootimage.Image
	// GOARCH is the guest's (= the host's) architecture.
	GOARCH string
	// Accel is AccelKVM, AccelHVF or AccelTCG.
	Accel string
	// VsockCID, when not zero, connects the agent over vhost-vsock with
	// this guest CID; zero means the virtio-serial multiplexer.
	VsockCID uint32
	// Virtiofsd is the virtiofsd binary; empty shares folders over 9p.
	Virtiofsd string
	Shares    []share.Share
	// Now and Seed are passed to the guest (clock, entropy).
	Now  time.Time
	Seed []byte
}

// Virtiofsd is one virtiofsd process serving a share.
type Virtiofsd struct {
	Socket string
	Args   []string
}

// Plan is how to run the VM: qemu's argv and the helpers to start first.
type Plan struct {
	// Binary is qemu's name for the architecture (qemu-system-x86_64, ...).
	Binary string
	Args   []string
	// Cmdline is the kernel command line (also inside Args).
	Cmdline   string
	Virtiofsd []Virtiofsd
}

// Binary returns the qemu system emulator for goarch.
func Binary(goarch string) (string, error) {
	switch goarch {
	case "amd64":
		return "qemu-system-x86_64", nil
	case "arm64":
		return "qemu-system-aarch64", nil
	}
	return "", errkind.New(errdefs.ErrNotImplemented, "the qemu driver does not run %s guests; it runs amd64 and arm64", goarch)
}

// balloonDevice is the memory balloon (driver.MemoryBalloon): the guest
// takes memory back from it on its own when it runs out (deflate-on-oom)
// and reports freed pages so that qemu returns them to the host
// (free-page-reporting; the guest's virtio_balloon module).
const balloonDevice = "virtio-balloon-pci,id=balloon0,deflate-on-oom=on,free-page-reporting=on"

// BuildPlan returns the qemu command line for in. It is pure: same input,
// same plan; it creates nothing.
func BuildPlan(in Input) (Plan, error) {
	bin, err := Binary(in.GOARCH)
	if err != nil {
		return Plan{}, err
	}
	if in.CPUs < 1 || in.MemoryBytes < 128<<20 {
		return Plan{}, errkind.New(errdefs.ErrInvalidArgument, "machine %q: needs at least 1 CPU and 128MiB of memory", in.Name)
	}
	shares, err := checkShares(in.Shares)
	if err != nil {
		return Plan{}, err
	}
	mem := in.MemoryBytes >> 20
	a := []string{"-name", "berth-" + in.Name, "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot"}
	a = append(a, machineArgs(in.GOARCH, in.Accel)...)
	a = append(a, "-smp", strconv.Itoa(in.CPUs), "-m", fmt.Sprintf("%dM", mem))
	extra := []string{"berth.disk=/dev/vda", userNetIP}
	p := Plan{Binary: bin}
	if len(shares) > 0 && in.Virtiofsd != "" {
		// vhost-user needs guest memory the virtiofsd processes can map.
		a = append(a, "-object", fmt.Sprintf("memory-backend-memfd,id=mem,size=%dM,share=on", mem), "-numa", "node,memdev=mem")
	}
	for i, s := range shares {
		tag := fmt.Sprintf("berth%d", i)
		if in.Virtiofsd != "" {
			sock := filepath.Join(in.Dir, fmt.Sprintf("fs%d.sock", i))
			p.Virtiofsd = append(p.Virtiofsd, Virtiofsd{Socket: sock, Args: []string{
				"--socket-path=" + sock, "-o", "source=" + s.HostPath, "-o", "cache=auto", "-o", "log_level=warn"}})
			a = append(a, "-chardev", fmt.Sprintf("socket,id=fs%d,path=%s", i, sock),
				"-device", fmt.Sprintf("vhost-user-fs-pci,chardev=fs%d,tag=%s", i, tag))
			extra = append(extra, "berth.share="+tag+":"+url.PathEscape(s.VMPath))
			continue
		}
		a = append(a, "-virtfs", fmt.Sprintf("local,path=%s,mount_tag=%s,security_model=none,id=fs%d", optEscape(s.HostPath), tag, i))
		extra = append(extra, "berth.share9p="+tag+":"+url.PathEscape(s.VMPath))
	}
	a = append(a,
		"-drive", fmt.Sprintf("if=none,id=data,file=%s,format=raw,discard=unmap,detect-zeroes=unmap", optEscape(filepath.Join(in.Dir, diskFile))),
		"-device", "virtio-blk-pci,drive=data",
		"-netdev", "user,id=n0",
		"-device", "virtio-net-pci,netdev=n0,romfile=",
		"-device", "virtio-rng-pci",
		"-device", balloonDevice,
		"-serial", "file:"+filepath.Join(in.Dir, consoleFile),
		"-qmp", fmt.Sprintf("unix:%s,server=on,wait=off", filepath.Join(in.Dir, qmpSocket)),
	)
	a = append(a, agentArgs(in)...)
	if !in.Now.IsZero() {
		extra = append(extra, fmt.Sprintf("berth.time=%d", in.Now.UnixNano()))
	}
	if len(in.Seed) > 0 {
		extra = append(extra, "berth.seed="+hex.EncodeToString(in.Seed))
	}
	p.Cmdline = bootimage.Cmdline(console(in.GOARCH), extra...)
	a = append(a, "-kernel", in.Image.Kernel, "-initrd", in.Image.Initrd, "-append", p.Cmdline)
	p.Args = a
	return p, nil
}

// machineArgs picks the machine type, accelerator and CPU model. Under
// TCG, amd64 gets "max" (x86-64-v2 and later binaries need its features)
// and arm64 a Cortex-A57 (measured 2.5x faster to boot than "max").
func machineArgs(goarch, accel string) []string {
	cpu := "host"
	if accel == AccelTCG || accel == "" {
		accel = AccelTCG
		cpu = "max"
		if goarch == "arm64" {
			cpu = "cortex-a57"
		}
	}
	acc := accel
	if accel == AccelTCG {
		acc = "tcg,thread=multi"
	}
	mach := "q35"
	if goarch == "arm64" {
		mach = "virt"
	}
	return []string{"-machine", mach, "-accel", acc, "-cpu", cpu}
}

// console is the guest's serial console device.
func console(goarch string) string {
	if goarch == "arm64" {
		return "ttyAMA0"
	}
	return "ttyS0"
}

// agentArgs connects the agent: vhost-vsock, or a virtio-serial port
// backed by a unix socket qemu listens on (the host is its one client).
func agentArgs(in Input) []string {
	if in.VsockCID != 0 {
		return []string{"-device", fmt.Sprintf("vhost-vsock-pci,guest-cid=%d", in.VsockCID)}
	}
	return []string{
		"-chardev", fmt.Sprintf("socket,id=agent,path=%s,server=on,wait=off", filepath.Join(in.Dir, agentSocket)),
		"-device", "virtio-serial-pci",
		"-device", "virtserialport,chardev=agent,name=" + SerialPortName,
	}
}

// checkShares refuses shares qemu or the guest cannot take.
func checkShares(in []share.Share) ([]share.Share, error) {
	seen := map[string]bool{}
	for _, s := range in {
		if !strings.HasPrefix(s.HostPath, "/") || !strings.HasPrefix(s.VMPath, "/") {
			return nil, errkind.New(errdefs.ErrInvalidArgument, "share %q:%q: both paths must be absolute", s.HostPath, s.VMPath)
		}
		if s.VMPath == "/" {
			return nil, errkind.New(errdefs.ErrInvalidArgument, "share %q cannot be shared at / in the VM (the guest mounts shares at their path); share a folder such as your home instead", s.HostPath)
		}
		if seen[s.VMPath] {
			return nil, errkind.New(errdefs.ErrInvalidArgument, "two shares mount at %s", s.VMPath)
		}
		seen[s.VMPath] = true
	}
	return in, nil
}

// optEscape escapes a value for qemu's comma-separated options.
func optEscape(s string) string { return strings.ReplaceAll(s, ",", ",,") }
