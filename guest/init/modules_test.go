package guestinit

import (
	"slices"
	"strings"
	"testing"
)

// testModuleDeps is a cut of the VM image's module graph (name -> needs).
var testModuleDeps = map[string][]string{
	"virtio": {}, "virtio_ring": {}, "virtio_pci": {"virtio", "virtio_ring"},
	"virtio_console": {"virtio", "virtio_ring"}, "virtio_blk": {"virtio", "virtio_ring"},
	"virtio_net": {"virtio", "virtio_ring"}, "virtio_rng": {"virtio", "virtio_ring"},
	"vsock": {}, "vmw_vsock_virtio_transport": {"vsock", "virtio", "virtio_ring"},
	"crc32c_generic": {}, "jbd2": {}, "ext4": {"jbd2"},
	"overlay": {}, "llc": {}, "stp": {"llc"}, "bridge": {"stp", "llc"}, "br_netfilter": {"bridge"},
	"nf_tables": {}, "nft_masq": {"nf_tables"},
	"fuse": {}, "virtiofs": {"fuse", "virtio", "virtio_ring"},
	"9pnet": {}, "netfs": {}, "9p": {"9pnet", "netfs"}, "9pnet_virtio": {"9pnet", "virtio", "virtio_ring"},
	"hv_vmbus": {}, "hv_sock": {"vsock", "hv_vmbus"}, "scsi_mod": {}, "sd_mod": {"scsi_mod"},
	"hv_storvsc": {"hv_vmbus", "scsi_mod"}, "9pnet_fd": {"9pnet"},
	"tun": {}, "binfmt_misc": {}, "future_module": {},
}

func TestPlanModules(t *testing.T) {
	tests := []struct {
		name   string
		cfg    Config
		hyperV bool
		// want: stage -> modules it must name; not: modules no stage names
		transport, engine, later, not []string
	}{
		{name: "qemu", cfg: Config{Disk: "/dev/vda"},
			transport: []string{"virtio_pci", "virtio_console", "vmw_vsock_virtio_transport"},
			engine:    []string{"virtio_blk", "crc32c_generic", "ext4", "virtio_net", "overlay", "br_netfilter", "nft_masq", "future_module"},
			later:     []string{"virtio_rng", "tun", "binfmt_misc", "virtiofs", "9p", "9pnet_virtio"},
			not:       []string{"hv_sock", "hv_vmbus", "hv_storvsc", "sd_mod", "9pnet_fd", "scsi_mod", "bridge", "virtio"}},
		{name: "virtiofs share", cfg: Config{Shares: []Share{{Tag: "t", Path: "/p", Type: "virtiofs"}}},
			engine: []string{"virtiofs"}, later: []string{"9p"}},
		{name: "9p share", cfg: Config{Shares: []Share{{Tag: "t", Path: "/p", Type: "9p"}}},
			engine: []string{"9p", "9pnet_virtio"}, later: []string{"virtiofs"}},
		{name: "rosetta", cfg: Config{Rosetta: "rosetta"}, engine: []string{"virtiofs", "binfmt_misc"}},
		{name: "hyper-v", cfg: Config{Disk: "/dev/sda", HvShares: []Share{{Tag: "s", Path: "/p", Type: "9p"}}}, hyperV: true,
			transport: []string{"hv_sock"}, engine: []string{"hv_storvsc", "sd_mod", "9p", "9pnet_fd", "ext4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := planModules(testModuleDeps, tt.cfg, tt.hyperV)
			seen := map[string]string{}
			for stage, ms := range map[string][]string{"transport": p.transport, "engine": p.engine, "later": p.later} {
				for _, m := range ms {
					if s, dup := seen[m]; dup {
						t.Errorf("%s is in stage %s and %s", m, s, stage)
					}
					seen[m] = stage
				}
			}
			check := func(stage string, want []string) {
				for _, m := range want {
					if seen[m] != stage {
						t.Errorf("%s: stage %q, want %q (plan %+v)", m, seen[m], stage, p)
					}
				}
			}
			check("transport", tt.transport)
			check("engine", tt.engine)
			check("later", tt.later)
			check("", tt.not)
			if !tt.hyperV {
				if got := p.keep(diskModules); slices.Contains(got, "sd_mod") || slices.Contains(got, "hv_storvsc") || !slices.Contains(got, "virtio_blk") {
					t.Errorf("keep(diskModules) = %v: want virtio_blk without Hyper-V's SCSI disk modules", got)
				}
			}
		})
	}
}

// TestPlanModulesFromModulesDep runs the plan on the graph loadOrder reads.
func TestPlanModulesFromModulesDep(t *testing.T) {
	dep := "kernel/fs/ext4/ext4.ko: kernel/fs/jbd2/jbd2.ko\nkernel/fs/jbd2/jbd2.ko:\nkernel/drivers/char/virtio_console.ko:\n"
	order, deps, err := loadOrder(strings.NewReader(dep))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string][]string{}
	for _, p := range order {
		names[moduleName(p)] = nil
		for _, d := range deps[p] {
			names[moduleName(p)] = append(names[moduleName(p)], moduleName(d))
		}
	}
	p := planModules(names, Config{}, false)
	if !slices.Equal(p.transport, []string{"virtio_console"}) || !slices.Equal(p.engine, []string{"ext4"}) || len(p.later) != 0 {
		t.Fatalf("plan = %+v, want transport [virtio_console], engine [ext4], later []", p)
	}
}
