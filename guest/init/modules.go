package guestinit

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"slices"
	"sort"
	"strings"
)

// moduleName is the kernel's name for a module file (dashes as underscores).
func moduleName(p string) string {
	return strings.ReplaceAll(strings.TrimSuffix(path.Base(p), ".ko"), "-", "_")
}

// loadOrder reads modules.dep and returns the module paths in an order
// where every module comes after the modules it depends on, each once,
// and each module's dependencies.
func loadOrder(r io.Reader) ([]string, map[string][]string, error) {
	deps := map[string][]string{}
	var lines []string
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		p, rest, ok := strings.Cut(l, ":")
		if !ok {
			return nil, nil, fmt.Errorf("modules.dep line %d: no ':' in %q", n, l)
		}
		p = strings.TrimSpace(p)
		deps[p] = strings.Fields(rest)
		lines = append(lines, p)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, err
	}
	var out []string
	state := map[string]int{}
	var visit func(p string) error
	visit = func(p string) error {
		switch state[p] {
		case 1:
			return fmt.Errorf("modules.dep: dependency cycle at %s", p)
		case 2:
			return nil
		}
		state[p] = 1
		for _, d := range deps[p] {
			if err := visit(d); err != nil {
				return err
			}
		}
		state[p] = 2
		out = append(out, p)
		return nil
	}
	for _, p := range lines {
		if err := visit(p); err != nil {
			return nil, nil, err
		}
	}
	return out, deps, nil
}

// Module stages. Everything in the image is loaded, in three stages, so
// that the host can connect and the engine can start as early as possible:
//
//   - transport: the virtio bus drivers and the agent's transport
//     (virtio-serial, virtio-vsock; hv_sock under Hyper-V);
//   - engine: what the engine needs before it opens its state — the data
//     disk, eth0, overlay, bridges and NAT, the shares the command line
//     names; also any module the image has that no stage names;
//   - later: loaded once the agent serves (entropy, ballooning, tun, the
//     share file systems no share uses, binfmt_misc without Rosetta).
//
// Hyper-V's modules are skipped outside Hyper-V (they would only fail
// with ENODEV after their load cost).
var (
	transportModules = []string{"virtio_pci", "virtio_mmio", "virtio_console", "vmw_vsock_virtio_transport"}
	hyperVTransport  = []string{"hv_sock"}
	// hyperVModules exist for the hcs driver only: vmbus devices, the
	// SCSI data disk, Plan 9 over hvsock.
	hyperVModules = []string{"hv_vmbus", "hv_sock", "hv_netvsc", "hv_storvsc", "hv_utils", "hv_balloon",
		"sd_mod", "scsi_transport_fc", "9pnet_fd"}
	// diskModules are the data disk's driver and file system (the
	// crc32c algorithm ext4 looks up when it mounts).
	diskModules = []string{"virtio_blk", "hv_storvsc", "sd_mod", "crc32c_generic", "crc32c_intel", "ext4"}
	// netModules drive eth0.
	netModules = []string{"virtio_net", "hv_netvsc"}
	// laterModules are not needed before the engine serves.
	laterModules = []string{"virtio_rng", "virtio_balloon", "hv_balloon", "hv_utils", "tun", "binfmt_misc",
		"virtiofs", "fuse", "9p", "9pnet_virtio", "9pnet_fd"}
)

// modulePlan is the modules of each stage, by name.
type modulePlan struct {
	transport, engine, later []string
	skip                     map[string]bool // never loaded (Hyper-V's outside Hyper-V)
}

// keep returns names without the modules the plan skips, for waiting on a
// part of a stage (the data disk's modules) without loading what the
// plan left out.
func (p modulePlan) keep(names []string) []string {
	var out []string
	for _, n := range names {
		if !p.skip[n] {
			out = append(out, n)
		}
	}
	return out
}

// shareModules are the modules the command line's shares need.
func shareModules(cfg Config) []string {
	var out []string
	for _, s := range cfg.Shares {
		if s.Type == "9p" {
			out = append(out, "9p", "9pnet_virtio")
		} else {
			out = append(out, "virtiofs")
		}
	}
	if len(cfg.HvShares) > 0 {
		out = append(out, "9p", "9pnet_fd")
	}
	if cfg.Rosetta != "" {
		out = append(out, "virtiofs", "binfmt_misc")
	}
	return out
}

// planModules splits the image's modules into stages. deps maps every
// module's name to the names of the modules it needs; a stage names only
// the modules it wants (the loader adds their dependencies), so the
// dependencies of skipped and later modules load with them, not before.
func planModules(deps map[string][]string, cfg Config, hyperV bool) modulePlan {
	skip := map[string]bool{}
	if !hyperV {
		for _, m := range hyperVModules {
			skip[m] = true
		}
	}
	taken := map[string]bool{}
	pick := func(names ...[]string) []string {
		var out []string
		for _, ns := range names {
			for _, n := range ns {
				if _, ok := deps[n]; ok && !skip[n] && !taken[n] {
					taken[n] = true
					out = append(out, n)
				}
			}
		}
		return out
	}
	p := modulePlan{skip: skip}
	p.transport = pick(transportModules, hyperVTransport)
	p.engine = pick(diskModules, netModules, shareModules(cfg))
	needed := map[string]bool{} // a dependency of another module
	for _, ds := range deps {
		for _, d := range ds {
			needed[d] = true
		}
	}
	var tops []string
	for m := range deps {
		if !needed[m] && !slices.Contains(laterModules, m) {
			tops = append(tops, m)
		}
	}
	sort.Strings(tops)
	p.engine = append(p.engine, pick(tops)...)
	p.later = pick(laterModules)
	return p
}
