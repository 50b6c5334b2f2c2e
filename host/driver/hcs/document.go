package hcs

import (
	"fmt"
	"net/url"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/driver"
	"github.com/berth-dev/berth/host/driver/bootimage"
	"github.com/berth-dev/berth/host/internal/errkind"
	"github.com/berth-dev/berth/host/share"
	"github.com/berth-dev/berth/host/transport"
)

// The parts of the HCS schema 2 document berth uses (see the HCS JSON
// schema reference); field names are the schema's.

// ComputeSystem is the document HcsCreateComputeSystem takes.
type ComputeSystem struct {
	Owner                             string          `json:"Owner,omitempty"`
	SchemaVersion                     *Version        `json:"SchemaVersion,omitempty"`
	ShouldTerminateOnLastHandleClosed bool            `json:"ShouldTerminateOnLastHandleClosed,omitempty"`
	VirtualMachine                    *VirtualMachine `json:"VirtualMachine,omitempty"`
}

// Version is a schema version.
type Version struct {
	Major int32 `json:"Major"`
	Minor int32 `json:"Minor"`
}

// VirtualMachine is a VM's settings.
type VirtualMachine struct {
	StopOnReset     bool      `json:"StopOnReset,omitempty"`
	Chipset         *Chipset  `json:"Chipset,omitempty"`
	ComputeTopology *Topology `json:"ComputeTopology,omitempty"`
	Devices         *Devices  `json:"Devices,omitempty"`
}

// Chipset holds the boot method.
type Chipset struct {
	LinuxKernelDirect *LinuxKernelDirect `json:"LinuxKernelDirect,omitempty"`
}

// LinuxKernelDirect boots a Linux kernel without firmware (build 18286+).
type LinuxKernelDirect struct {
	KernelFilePath string `json:"KernelFilePath,omitempty"`
	InitRdPath     string `json:"InitRdPath,omitempty"`
	KernelCmdLine  string `json:"KernelCmdLine,omitempty"`
}

// Topology is memory and processors.
type Topology struct {
	Memory    *Memory    `json:"Memory,omitempty"`
	Processor *Processor `json:"Processor,omitempty"`
}

// Memory of a VM.
type Memory struct {
	SizeInMB        uint64 `json:"SizeInMB,omitempty"`
	AllowOvercommit bool   `json:"AllowOvercommit,omitempty"`
}

// Processor count of a VM.
type Processor struct {
	Count uint32 `json:"Count,omitempty"`
}

// Devices of a VM.
type Devices struct {
	ComPorts        map[string]ComPort        `json:"ComPorts,omitempty"`
	Scsi            map[string]Scsi           `json:"Scsi,omitempty"`
	NetworkAdapters map[string]NetworkAdapter `json:"NetworkAdapters,omitempty"`
	HvSocket        *HvSocket                 `json:"HvSocket,omitempty"`
	Plan9           *Plan9                    `json:"Plan9,omitempty"`
}

// ComPort connects a serial port to a named pipe.
type ComPort struct {
	NamedPipe string `json:"NamedPipe,omitempty"`
}

// Scsi is one SCSI controller.
type Scsi struct {
	Attachments map[string]Attachment `json:"Attachments,omitempty"`
}

// Attachment is a disk on a controller.
type Attachment struct {
	Type     string `json:"Type,omitempty"`
	Path     string `json:"Path,omitempty"`
	ReadOnly bool   `json:"ReadOnly,omitempty"`
}

// NetworkAdapter attaches an HNS endpoint.
type NetworkAdapter struct {
	EndpointID string `json:"EndpointId,omitempty"`
	MacAddress string `json:"MacAddress,omitempty"`
}

// HvSocket configures Hyper-V sockets.
type HvSocket struct {
	HvSocketConfig *HvSocketSystemConfig `json:"HvSocketConfig,omitempty"`
}

// HvSocketSystemConfig is the service table.
type HvSocketSystemConfig struct {
	DefaultBindSecurityDescriptor string                           `json:"DefaultBindSecurityDescriptor,omitempty"`
	ServiceTable                  map[string]HvSocketServiceConfig `json:"ServiceTable,omitempty"`
}

// HvSocketServiceConfig says who may bind and connect to a service.
type HvSocketServiceConfig struct {
	BindSecurityDescriptor    string `json:"BindSecurityDescriptor,omitempty"`
	ConnectSecurityDescriptor string `json:"ConnectSecurityDescriptor,omitempty"`
	AllowWildcardBinds        bool   `json:"AllowWildcardBinds,omitempty"`
}

// Plan9 shares host folders over hvsock.
type Plan9 struct {
	Shares []Plan9Share `json:"Shares,omitempty"`
}

// Plan9Share is one folder, served on Port under AccessName (the aname).
type Plan9Share struct {
	Name       string `json:"Name,omitempty"`
	AccessName string `json:"AccessName,omitempty"`
	Path       string `json:"Path,omitempty"`
	Port       int32  `json:"Port,omitempty"`
}

// Security descriptors: everyone may bind (the guest listens or the host
// does); only SYSTEM, administrators, Hyper-V administrators (S-1-5-32-578,
// the group a non-elevated berth user is in) and the owner connect.
const (
	sddlBindAll    = "D:P(A;;FA;;;WD)"
	sddlConnectOwn = "D:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FA;;;S-1-5-32-578)(A;;FA;;;OW)"
)

// Constants of the VM.
const (
	// Plan9Port is the vsock port HCS serves Plan 9 shares on.
	Plan9Port = 564
	// scsiController is the data disk's controller (a fixed GUID, as hcsshim uses).
	scsiController = "df6d0690-79e5-55b6-a5ec-c1e2f77d580a"
	owner          = "berth"
	// dataDisk is the data disk in the guest: the first SCSI disk.
	dataDisk = "/dev/sda"
)

// Input is what the document is built from.
type Input struct {
	Name        string
	CPUs        int
	MemoryBytes int64
	Image       bootimage.Image
	// Disk is the data disk VHDX.
	Disk string
	// ConsolePipe is the named pipe COM1 is connected to.
	ConsolePipe string
	// Shares are Windows folders; share.AllDrives shares the given Drives.
	Shares []share.Share
	// Drives are the drive letters to share for share.AllDrives ("C", "D").
	Drives []string
	// Endpoint is the HNS endpoint (empty: no network).
	Endpoint, MAC string
	// Net is the guest's static network configuration for the kernel
	// command line (NetParam: "192.168.127.5/24,gw=192.168.127.1,dns=..."),
	// from the endpoint.
	Net string
	// Now and Seed are the host's time and entropy for the guest; zero
	// values are left off the command line.
	Now  time.Time
	Seed []byte
	// GOARCH is the host's (and the kernel's) architecture: the console is
	// a 8250 UART (ttyS0) on amd64 and a PL011 (ttyAMA0) on arm64.
	GOARCH string
	// GuestDials asks the agent to dial the host (transport.GuestDials).
	GuestDials bool
	// HostCPUs and HostMemory bound CPUs and MemoryBytes; zero skips.
	HostCPUs   int
	HostMemory int64
}

// BuildDocument returns the schema 2 document of the machine's VM. It is
// pure: every host fact is in in.
func BuildDocument(in Input) (*ComputeSystem, error) {
	sizes := driver.Sizes{CPUs: in.CPUs, MemoryBytes: in.MemoryBytes, HostCPUs: in.HostCPUs, HostMemory: in.HostMemory}
	if err := sizes.Check("PC"); err != nil {
		return nil, err
	}
	shares, mounts, err := plan9Shares(in.Shares, in.Drives)
	if err != nil {
		return nil, err
	}
	agent := transport.HvsockServiceID(bootimage.AgentPort)
	dev := &Devices{
		ComPorts: map[string]ComPort{"0": {NamedPipe: in.ConsolePipe}},
		Scsi: map[string]Scsi{scsiController: {Attachments: map[string]Attachment{
			"0": {Type: "VirtualDisk", Path: in.Disk}}}},
		HvSocket: &HvSocket{HvSocketConfig: &HvSocketSystemConfig{
			DefaultBindSecurityDescriptor: sddlBindAll,
			ServiceTable: map[string]HvSocketServiceConfig{agent: {
				BindSecurityDescriptor: sddlBindAll, ConnectSecurityDescriptor: sddlConnectOwn, AllowWildcardBinds: true}},
		}},
		Plan9: &Plan9{Shares: shares},
	}
	if in.Endpoint != "" {
		dev.NetworkAdapters = map[string]NetworkAdapter{in.Endpoint: {EndpointID: in.Endpoint, MacAddress: in.MAC}}
	}
	return &ComputeSystem{
		Owner:                             owner,
		SchemaVersion:                     &Version{Major: 2, Minor: 1},
		ShouldTerminateOnLastHandleClosed: true,
		VirtualMachine: &VirtualMachine{
			StopOnReset: true,
			Chipset: &Chipset{LinuxKernelDirect: &LinuxKernelDirect{
				KernelFilePath: in.Image.Kernel, InitRdPath: in.Image.Initrd,
				KernelCmdLine: cmdline(in, mounts)}},
			ComputeTopology: &Topology{
				Memory:    &Memory{SizeInMB: uint64(in.MemoryBytes >> 20), AllowOvercommit: true},
				Processor: &Processor{Count: uint32(in.CPUs)}},
			Devices: dev,
		},
	}, nil
}

// plan9Shares names one Plan 9 share per folder (its aname is its name);
// AllDrives becomes one share per drive, mounted at <VMPath>/<letter>.
// mounts are NAME:escaped-VM-path pairs for the kernel command line.
func plan9Shares(in []share.Share, drives []string) (out []Plan9Share, mounts []string, err error) {
	add := func(name, host string) {
		out = append(out, Plan9Share{Name: name, AccessName: name, Path: host, Port: Plan9Port})
	}
	for i, s := range in {
		if !path.IsAbs(s.VMPath) {
			return nil, nil, errkind.New(errdefs.ErrInvalidArgument, "share %s: %q is not an absolute VM path", s.HostPath, s.VMPath)
		}
		if s.HostPath == share.AllDrives {
			ds := append([]string{}, drives...)
			sort.Strings(ds)
			for _, d := range ds {
				l := strings.ToLower(strings.TrimSuffix(d, ":"))
				add("drive-"+l, strings.ToUpper(l)+`:\`)
				mounts = append(mounts, "drive-"+l+":"+url.PathEscape(path.Join(s.VMPath, l)))
			}
			continue
		}
		if len(s.HostPath) < 3 || s.HostPath[1] != ':' {
			return nil, nil, errkind.New(errdefs.ErrInvalidArgument, "share %q is not an absolute Windows path", s.HostPath)
		}
		name := fmt.Sprintf("share%d", i)
		add(name, s.HostPath)
		mounts = append(mounts, name+":"+url.PathEscape(s.VMPath))
	}
	return out, mounts, nil
}

// cmdline is the kernel command line (guest/init's berth.* parameters):
// hv_sock only (no virtio-vsock), the data disk on SCSI (/dev/sda), the
// Plan 9 shares (berth.sharehv=ANAME:PATH, served by HCS on Plan9Port; the
// guest dials the host and mounts with trans=fd), the network, the time.
func cmdline(in Input, mounts []string) string {
	console := "ttyS0,115200"
	extra := []string{"8250_core.nr_uarts=1"}
	if in.GOARCH == "arm64" {
		console, extra = "ttyAMA0,115200", nil
	}
	extra = append(extra, "initcall_blacklist=virtio_vsock_init", "pci=off", "berth.disk="+dataDisk)
	for _, m := range mounts {
		extra = append(extra, "berth.sharehv="+m)
	}
	if in.GuestDials {
		extra = append(extra, "berth.dial=host")
	}
	if in.Net != "" {
		extra = append(extra, "berth.ip="+in.Net)
	}
	extra = append(extra, bootimage.BootParams(in.Now, in.Seed)...)
	return bootimage.Cmdline(console, extra...)
}
