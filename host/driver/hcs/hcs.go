// Package hcs is the driver for Hyper-V on Windows: a Linux utility VM
// created through the Host Compute Service (HCS) from a schema 2 document.
// hcsshim v0.15.0 has no public API for a Linux utility VM, so berth has
// its own small binding to the documented computecore.dll API
// (computecore_windows.go) and its own document structs (document.go,
// built by the pure BuildDocument and tested against golden JSON on every
// OS). hcsshim's public packages are used where they fit: hcn for the NAT
// network and endpoint, osversion for the build check (direct kernel boot
// needs build 18286 or later).
//
// The VM boots the berth kernel and initramfs directly
// (Chipset.LinuxKernelDirect), has the data disk as a VHDX on SCSI,
// an HvSocket service table that allows the agent's service, Plan 9
// shares served by HCS on vsock port 564 (one share per aname, drives as
// /mnt/host/<letter>; the guest dials the host and mounts with trans=fd),
// COM1 on a named pipe copied into the machine's log, and a network adapter
// on the "berth" HNS NAT network with a static address passed on the
// kernel command line.
//
// # Which side dials
//
// Agent connections use hvsock with the service GUID derived from the
// agent's vsock port (transport.HvsockServiceID). By default the host
// dials the guest (transport.HostDials): the agent already listens on
// AF_VSOCK and it is how every other driver works. That a Windows host can
// connect into a Linux guest's hv_sock listener is, however, unproven:
// hcsshim only ever has the host listen and the guest dial. So the
// transport also implements the other direction (transport.GuestDials: the
// host listens with winio.ListenHvsock and the guest keeps connections open
// towards it), selected by Factory.Direction; the kernel command line then
// carries berth.dial=host and guest/init keeps a few idle connections open
// to the host, splicing each to the agent once the host uses it (see
// proto/PROTOCOL.md, "Who connects"). In the host-dials direction the
// agent listens on hv_sock, which guest/init recognizes by its vmbus
// driver (hv_sock has no CIDs: its local CID is always VMADDR_CID_ANY).
package hcs

import (
	"os"
	"runtime"
	"strconv"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/driver"
	"github.com/berth-dev/berth/host/driver/bootimage"
	"github.com/berth-dev/berth/host/internal/errkind"
	"github.com/berth-dev/berth/host/share"
	"github.com/berth-dev/berth/host/transport"
)

// Name is the driver's registry name.
const Name = "hcs"

// Files in the machine's dir.
const diskFile = "disk.vhdx"

// NetworkName is the HNS NAT network berth creates and shares between machines.
const NetworkName = "berth"

// NATSubnet and NATGateway are the berth network's addresses.
const (
	NATSubnet  = "192.168.127.0/24"
	NATGateway = "192.168.127.1"
)

// Factory makes hcs drivers.
type Factory struct {
	// ImageDirs are searched for the VM image; empty means bootimage.Dirs
	// of the running executable and Home.
	ImageDirs []string
	// Shares are the host folders every machine mounts (Plan 9).
	Shares []share.Share
	// Direction picks who opens agent connections (see the package doc).
	Direction transport.HvsockDirection
	// Home is berth's state dir; its vm/<arch> is searched last (bootimage.Dirs).
	Home string
}

var _ driver.Factory = Factory{}

// Name returns "hcs".
func (Factory) Name() string { return Name }

var features = driver.Features{VM: true, SizesApply: true}

func (f Factory) imageDirs() []string {
	if len(f.ImageDirs) > 0 {
		return f.ImageDirs
	}
	exe, _ := os.Executable()
	return bootimage.Dirs(exe, f.Home, runtime.GOARCH)
}

// checkFolders returns a clear error for a shared folder that does not
// exist; share.AllDrives is not a folder and is not checked.
func checkFolders(shares []share.Share) error {
	for _, s := range shares {
		if s.HostPath == share.AllDrives {
			continue
		}
		if fi, err := os.Stat(s.HostPath); err != nil || !fi.IsDir() {
			return errkind.New(errdefs.ErrInvalidArgument,
				"shared folder %s does not exist or is not a folder; remove it from the machine's shares", s.HostPath)
		}
	}
	return nil
}

// NetParam is the berth.ip value (guest/init) for a static address:
// "ip/prefix,gw=gateway[,dns=server]...".
func NetParam(ip string, prefix uint8, gateway string, dns []string) string {
	if ip == "" {
		return ""
	}
	v := ip + "/" + strconv.Itoa(int(prefix)) + ",gw=" + gateway
	for _, d := range dns {
		v += ",dns=" + d
	}
	return v
}
