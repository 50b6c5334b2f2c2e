package cmdlinecheck

import (
	"bytes"
	"testing"
	"time"

	"github.com/berth-dev/berth/guest/init"
	"github.com/berth-dev/berth/host/driver/bootimage"
	"github.com/berth-dev/berth/host/driver/hcs"
	"github.com/berth-dev/berth/host/driver/vz"
	"github.com/berth-dev/berth/host/share"
)

var (
	now  = time.Unix(1700000000, 42)
	seed = []byte{1, 2, 3, 4}
)

func checkCommon(t *testing.T, c guestinit.Config, disk string) {
	t.Helper()
	if c.Port != bootimage.AgentPort || c.Disk != disk || !c.Time.Equal(now) || !bytes.Equal(c.Seed, seed) {
		t.Errorf("port %d disk %q time %v seed %x", c.Port, c.Disk, c.Time, c.Seed)
	}
}

func TestVZCmdlineParsesInGuest(t *testing.T) {
	kernel := make([]byte, 64)
	copy(kernel[56:], "ARMd")
	cfg, err := vz.BuildConfig(vz.Input{
		Dir: "/m", CPUs: 1, MemoryBytes: 1 << 30, DiskBytes: 1 << 30, GOARCH: "arm64", KernelHeader: kernel,
		Shares: []share.Share{{HostPath: "/Users/Jane Doe", VMPath: "/Users/Jane Doe"}, {HostPath: "/Volumes", VMPath: "/Volumes"}},
		Now:    now, Seed: seed,
	})
	if err != nil {
		t.Fatalf("BuildConfig: %v", err)
	}
	c, err := guestinit.ParseCmdline(cfg.Cmdline)
	if err != nil {
		t.Fatalf("guest cannot parse %q: %v", cfg.Cmdline, err)
	}
	checkCommon(t, c, "/dev/vda")
	want := []guestinit.Share{{Tag: "berth0", Path: "/Users/Jane Doe", Type: "virtiofs"}, {Tag: "berth1", Path: "/Volumes", Type: "virtiofs"}}
	if len(c.Shares) != len(want) || c.Shares[0] != want[0] || c.Shares[1] != want[1] {
		t.Errorf("shares = %+v, want %+v", c.Shares, want)
	}
	if c.Static != nil {
		t.Errorf("vz NAT uses DHCP, got a static address %+v", c.Static)
	}
}

func TestHCSCmdlineParsesInGuest(t *testing.T) {
	doc, err := hcs.BuildDocument(hcs.Input{
		Name: "m", CPUs: 1, MemoryBytes: 1 << 30, GOARCH: "amd64",
		Shares: share.DefaultShares(share.Windows, ""), Drives: []string{"C"},
		Endpoint: "e", Net: hcs.NetParam("192.168.127.5", 24, hcs.NATGateway, []string{hcs.NATGateway}),
		Now: now, Seed: seed,
	})
	if err != nil {
		t.Fatalf("BuildDocument: %v", err)
	}
	line := doc.VirtualMachine.Chipset.LinuxKernelDirect.KernelCmdLine
	c, err := guestinit.ParseCmdline(line)
	if err != nil {
		t.Fatalf("guest cannot parse %q: %v", line, err)
	}
	checkCommon(t, c, "/dev/sda")
	if c.Static == nil || c.Static.Addr.String() != "192.168.127.5/24" || c.Static.Gateway.String() != hcs.NATGateway ||
		len(c.Static.DNS) != 1 || c.Static.DNS[0].String() != hcs.NATGateway {
		t.Errorf("static network = %+v", c.Static)
	}
}
