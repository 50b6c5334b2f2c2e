package container

import (
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// CgroupsPath is the cgroup (relative to each hierarchy root) a container
// runs in.
func CgroupsPath(id string) string { return "/berth/" + id }

// setLinux fills spec.Linux: namespaces, cgroup resources, masked paths,
// devices and seccomp.
func setLinux(s *specs.Spec, in SpecInput) error {
	c := in.Create
	l := &specs.Linux{
		CgroupsPath: CgroupsPath(in.ID),
		Namespaces: []specs.LinuxNamespace{
			{Type: specs.PIDNamespace}, {Type: specs.IPCNamespace},
			{Type: specs.UTSNamespace}, {Type: specs.MountNamespace},
		},
		Resources: &specs.LinuxResources{Devices: defaultDeviceRules(c.Privileged)},
	}
	if in.PrivateCgroupNS {
		l.Namespaces = append(l.Namespaces, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	}
	switch c.Network.Mode {
	case "", NetworkNone:
		l.Namespaces = append(l.Namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace})
	case NetworkNetns:
		if c.Network.NetnsPath == "" {
			return fmt.Errorf("network mode netns needs a namespace path: %w", errdefs.ErrInvalidArgument)
		}
		l.Namespaces = append(l.Namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: c.Network.NetnsPath})
	case NetworkHost:
	default:
		return fmt.Errorf("unknown network mode %q: %w", c.Network.Mode, errdefs.ErrInvalidArgument)
	}
	if c.Memory < 0 || c.NanoCPUs < 0 || c.PidsLimit < 0 {
		return fmt.Errorf("memory, cpus and pids limits must not be negative: %w", errdefs.ErrInvalidArgument)
	}
	if c.Memory > 0 {
		if c.Memory < 6<<20 {
			return fmt.Errorf("minimum memory limit allowed is 6MB: %w", errdefs.ErrInvalidArgument)
		}
		l.Resources.Memory = &specs.LinuxMemory{Limit: &c.Memory}
	}
	if c.NanoCPUs > 0 {
		period := uint64(100000)
		quota := c.NanoCPUs * int64(period) / 1e9
		if quota < 1000 {
			return fmt.Errorf("range of CPUs is from 0.01 to the number of CPUs available: %w", errdefs.ErrInvalidArgument)
		}
		l.Resources.CPU = &specs.LinuxCPU{Period: &period, Quota: &quota}
	}
	if c.PidsLimit > 0 {
		l.Resources.Pids = pidsLimit(c.PidsLimit)
	}
	if !c.Privileged {
		l.MaskedPaths = append([]string{}, maskedPaths...)
		l.ReadonlyPaths = append([]string{}, readonlyPaths...)
	}
	s.Linux = l
	if c.Privileged {
		return nil
	}
	sc, err := defaultSeccomp(s)
	if err != nil {
		return fmt.Errorf("seccomp profile: %w", err)
	}
	l.Seccomp = sc
	return nil
}

// mounts returns the default mounts, the /etc files, the init binary and
// the user's mounts; a user mount replaces a default one at the same place.
func mounts(in SpecInput) ([]specs.Mount, error) {
	c := in.Create
	shm := c.ShmSize
	if shm == 0 {
		shm = defaultShmSize
	}
	user, err := userMounts(c.Mounts)
	if err != nil {
		return nil, err
	}
	taken := map[string]bool{}
	for _, m := range user {
		taken[m.Destination] = true
	}
	var out []specs.Mount
	add := func(m specs.Mount) {
		if !taken[m.Destination] {
			out = append(out, m)
		}
	}
	for _, m := range defaultMounts(shm, c.Privileged) {
		add(m)
	}
	for _, f := range []struct{ dst, src string }{
		{"/etc/resolv.conf", in.EtcResolvConf}, {"/etc/hostname", in.EtcHostname}, {"/etc/hosts", in.EtcHosts},
	} {
		if f.src != "" {
			add(specs.Mount{Destination: f.dst, Type: "bind", Source: f.src, Options: []string{"rbind", "rprivate"}})
		}
	}
	if c.Init && in.InitPath != "" {
		add(specs.Mount{Destination: initPathInContainer, Type: "bind", Source: in.InitPath, Options: []string{"bind", "ro"}})
	}
	sort.SliceStable(user, func(i, j int) bool { return depth(user[i].Destination) < depth(user[j].Destination) })
	return append(out, user...), nil
}

func depth(p string) int { return strings.Count(path.Clean(p), "/") }

func userMounts(ms []Mount) ([]specs.Mount, error) {
	out := make([]specs.Mount, 0, len(ms))
	seen := map[string]bool{}
	for _, m := range ms {
		if !path.IsAbs(m.Target) || path.Clean(m.Target) == "/" {
			return nil, fmt.Errorf("invalid mount target %q: it must be an absolute path other than /: %w", m.Target, errdefs.ErrInvalidArgument)
		}
		dst := path.Clean(m.Target)
		if seen[dst] {
			return nil, fmt.Errorf("duplicate mount point: %s: %w", dst, errdefs.ErrInvalidArgument)
		}
		seen[dst] = true
		sm, err := userMount(m, dst)
		if err != nil {
			return nil, err
		}
		out = append(out, sm)
	}
	return out, nil
}

func userMount(m Mount, dst string) (specs.Mount, error) {
	switch m.Type {
	case MountBind, MountVolume, "":
		if m.Source == "" {
			return specs.Mount{}, fmt.Errorf("mount %s: no source given: %w", dst, errdefs.ErrInvalidArgument)
		}
		opts := []string{"rbind", "rprivate"}
		if m.ReadOnly {
			opts = append(opts, "ro")
		}
		return specs.Mount{Destination: dst, Type: "bind", Source: m.Source, Options: opts}, nil
	case MountTmpfs:
		opts := []string{"nosuid", "nodev", "noexec"}
		if m.TmpfsSize > 0 {
			opts = append(opts, "size="+itoa(m.TmpfsSize))
		}
		if m.TmpfsMode != 0 {
			opts = append(opts, fmt.Sprintf("mode=%o", m.TmpfsMode))
		}
		if m.ReadOnly {
			opts = append(opts, "ro")
		}
		return specs.Mount{Destination: dst, Type: "tmpfs", Source: "tmpfs", Options: opts}, nil
	}
	return specs.Mount{}, fmt.Errorf("mount %s: unknown mount type %q: %w", dst, m.Type, errdefs.ErrInvalidArgument)
}

// pidsLimit builds LinuxPids through JSON: runtime-spec changed Limit from
// int64 to *int64 (v1.3), and this keeps the code right for both.
func pidsLimit(n int64) *specs.LinuxPids {
	var p specs.LinuxPids
	json.Unmarshal([]byte(`{"limit":`+itoa(n)+`}`), &p) //nolint:errcheck // constant shape
	return &p
}
