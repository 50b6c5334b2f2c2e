package container

import (
	"encoding/json"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func genSpec(t *testing.T, in SpecInput) *specs.Spec {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the seccomp profile is generated on Linux only")
	}
	if in.Rootfs == "" {
		in.Rootfs = testRootfs(t)
	}
	if in.ID == "" {
		in.ID = "0123456789abcdef0123"
	}
	s, err := GenerateSpec(in)
	if err != nil {
		t.Fatalf("GenerateSpec: %v", err)
	}
	return s
}

func TestSpecArgsAndEnv(t *testing.T) {
	img := ocispec.ImageConfig{Entrypoint: []string{"/ep"}, Cmd: []string{"img-cmd"}, Env: []string{"A=img", "B=img"}, WorkingDir: "/w", User: "app"}
	tests := []struct {
		name     string
		img      ocispec.ImageConfig
		create   CreateConfig
		wantArgs []string
		wantEnv  []string
		wantCwd  string
		wantUID  uint32
	}{
		{name: "image defaults", img: img, wantArgs: []string{"/ep", "img-cmd"},
			wantEnv: []string{"PATH=" + defaultPath, "HOSTNAME=0123456789ab", "A=img", "B=img"}, wantCwd: "/w", wantUID: 1000},
		{name: "cmd replaces image cmd", img: img, create: CreateConfig{Cmd: []string{"x", "y"}}, wantArgs: []string{"/ep", "x", "y"}, wantUID: 1000},
		{name: "entrypoint resets image cmd", img: img, create: CreateConfig{Entrypoint: []string{"/other"}}, wantArgs: []string{"/other"}, wantUID: 1000},
		{name: "entrypoint and cmd", img: img, create: CreateConfig{Entrypoint: []string{"/other"}, Cmd: []string{"c"}}, wantArgs: []string{"/other", "c"}, wantUID: 1000},
		{name: "empty entrypoint", img: img, create: CreateConfig{Entrypoint: []string{""}, Cmd: []string{"sh"}}, wantArgs: []string{"sh"}, wantUID: 1000},
		{name: "user env overrides, tty adds TERM", img: ocispec.ImageConfig{Cmd: []string{"sh"}, Env: []string{"PATH=/img", "A=img"}},
			create:   CreateConfig{Env: []string{"A=user", "C=new", "NOVALUE"}, Tty: true, Hostname: "h", User: "0", WorkingDir: "/x"},
			wantArgs: []string{"sh"}, wantEnv: []string{"HOSTNAME=h", "TERM=xterm", "PATH=/img", "A=user", "C=new"}, wantCwd: "/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := genSpec(t, SpecInput{Image: tt.img, Create: tt.create})
			if !reflect.DeepEqual(s.Process.Args, tt.wantArgs) {
				t.Errorf("args = %q, want %q", s.Process.Args, tt.wantArgs)
			}
			if tt.wantEnv != nil && !reflect.DeepEqual(s.Process.Env, tt.wantEnv) {
				t.Errorf("env = %q, want %q", s.Process.Env, tt.wantEnv)
			}
			if tt.wantCwd != "" && s.Process.Cwd != tt.wantCwd {
				t.Errorf("cwd = %q, want %q", s.Process.Cwd, tt.wantCwd)
			}
			if s.Process.User.UID != tt.wantUID {
				t.Errorf("uid = %d, want %d", s.Process.User.UID, tt.wantUID)
			}
		})
	}
}

func TestSpecErrors(t *testing.T) {
	tests := []struct {
		name    string
		create  CreateConfig
		wantErr string
	}{
		{name: "no command", wantErr: "no command specified"},
		{name: "unknown user", create: CreateConfig{Cmd: []string{"x"}, User: "ghost"}, wantErr: "unable to find user ghost"},
		{name: "bad cap", create: CreateConfig{Cmd: []string{"x"}, CapAdd: []string{"FLY"}}, wantErr: "unknown capability"},
		{name: "relative workdir", create: CreateConfig{Cmd: []string{"x"}, WorkingDir: "rel"}, wantErr: "not an absolute path"},
		{name: "tiny memory", create: CreateConfig{Cmd: []string{"x"}, Memory: 1024}, wantErr: "minimum memory limit"},
		{name: "bad mount", create: CreateConfig{Cmd: []string{"x"}, Mounts: []Mount{{Type: "bind", Source: "/a", Target: "rel"}}}, wantErr: "invalid mount target"},
		{name: "bad network", create: CreateConfig{Cmd: []string{"x"}, Network: NetworkConfig{Mode: "weird"}}, wantErr: "unknown network mode"},
		{name: "init without binary", create: CreateConfig{Cmd: []string{"x"}, Init: true}, wantErr: "no init binary"},
		{name: "soft over hard", create: CreateConfig{Cmd: []string{"x"}, Ulimits: []Ulimit{{Name: "nofile", Soft: 10, Hard: 5}}}, wantErr: "soft limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := GenerateSpec(SpecInput{ID: "c", Rootfs: testRootfs(t), Create: tt.create})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestSpecSecurityDefaults(t *testing.T) {
	s := genSpec(t, SpecInput{Create: CreateConfig{Cmd: []string{"x"}}})
	caps := s.Process.Capabilities
	if len(caps.Bounding) != 14 || !slices.Contains(caps.Bounding, "CAP_NET_BIND_SERVICE") || slices.Contains(caps.Bounding, "CAP_SYS_ADMIN") {
		t.Errorf("default caps = %v", caps.Bounding)
	}
	if s.Linux.Seccomp == nil || s.Linux.Seccomp.DefaultAction != specs.ActErrno || len(s.Linux.Seccomp.Syscalls) == 0 {
		t.Errorf("docker's default seccomp profile missing: %+v", s.Linux.Seccomp)
	}
	if !slices.Contains(s.Linux.MaskedPaths, "/proc/kcore") || !slices.Contains(s.Linux.ReadonlyPaths, "/proc/sys") {
		t.Errorf("masked %v readonly %v", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
	}
	var ns []specs.LinuxNamespaceType
	for _, n := range s.Linux.Namespaces {
		ns = append(ns, n.Type)
	}
	for _, want := range []specs.LinuxNamespaceType{specs.PIDNamespace, specs.IPCNamespace, specs.UTSNamespace, specs.MountNamespace, specs.NetworkNamespace} {
		if !slices.Contains(ns, want) {
			t.Errorf("namespace %s missing from %v", want, ns)
		}
	}
	if s.Linux.Resources.Devices[0].Allow {
		t.Errorf("device cgroup does not start with deny-all")
	}

	p := genSpec(t, SpecInput{Create: CreateConfig{Cmd: []string{"x"}, Privileged: true}})
	if p.Linux.Seccomp != nil || len(p.Linux.MaskedPaths) != 0 || !slices.Contains(p.Process.Capabilities.Bounding, "CAP_SYS_ADMIN") {
		t.Errorf("privileged spec keeps restrictions")
	}
	c := genSpec(t, SpecInput{Create: CreateConfig{Cmd: []string{"x"}, CapAdd: []string{"net_admin"}, CapDrop: []string{"CAP_CHOWN", "mknod"}}})
	b := c.Process.Capabilities.Bounding
	if !slices.Contains(b, "CAP_NET_ADMIN") || slices.Contains(b, "CAP_CHOWN") || slices.Contains(b, "CAP_MKNOD") || len(b) != 13 {
		t.Errorf("cap-add/drop = %v", b)
	}
	d := genSpec(t, SpecInput{Create: CreateConfig{Cmd: []string{"x"}, CapDrop: []string{"ALL"}, CapAdd: []string{"KILL"}}})
	if !reflect.DeepEqual(d.Process.Capabilities.Bounding, []string{"CAP_KILL"}) {
		t.Errorf("drop ALL + add KILL = %v", d.Process.Capabilities.Bounding)
	}
}

func TestSpecResourcesAndRlimits(t *testing.T) {
	s := genSpec(t, SpecInput{
		Create: CreateConfig{
			Cmd: []string{"x"}, Memory: 64 << 20, NanoCPUs: 1_500_000_000, PidsLimit: 100,
			Ulimits: []Ulimit{{Name: "nproc", Soft: 50, Hard: 100}},
		},
		HardLimits: map[string]uint64{"RLIMIT_NOFILE": 20000, "RLIMIT_NPROC": 80},
	})
	r := s.Linux.Resources
	pids, _ := json.Marshal(r.Pids)
	if *r.Memory.Limit != 64<<20 || *r.CPU.Period != 100000 || *r.CPU.Quota != 150000 || string(pids) != `{"limit":100}` {
		t.Errorf("resources = mem %d cpu %d/%d pids %s", *r.Memory.Limit, *r.CPU.Quota, *r.CPU.Period, pids)
	}
	want := []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 20000, Soft: 20000}, {Type: "RLIMIT_NPROC", Hard: 80, Soft: 50}}
	if !reflect.DeepEqual(s.Process.Rlimits, want) {
		t.Errorf("rlimits = %+v, want %+v (clamped to the hard limits)", s.Process.Rlimits, want)
	}
	if s.Linux.CgroupsPath != "/berth/0123456789abcdef0123" {
		t.Errorf("cgroups path = %q", s.Linux.CgroupsPath)
	}
}

func mountAt(s *specs.Spec, dst string) (specs.Mount, int) {
	n, found := 0, specs.Mount{}
	for _, m := range s.Mounts {
		if m.Destination == dst {
			n++
			found = m
		}
	}
	return found, n
}

func TestSpecMountsAndNetwork(t *testing.T) {
	s := genSpec(t, SpecInput{
		Create: CreateConfig{
			Cmd: []string{"x"}, ReadonlyRootfs: true, ShmSize: 1 << 20,
			Mounts: []Mount{
				{Type: MountBind, Source: "/src", Target: "/data", ReadOnly: true},
				{Type: MountVolume, Source: "/vol/x", Target: "/var/lib/x"},
				{Type: MountTmpfs, Target: "/run", TmpfsSize: 1 << 20, TmpfsMode: 0o1777},
			},
			Network: NetworkConfig{Mode: NetworkNetns, NetnsPath: "/run/netns/n1"},
		},
		EtcHosts: "/state/hosts", EtcHostname: "/state/hostname", EtcResolvConf: "/state/resolv.conf",
	})
	if !s.Root.Readonly {
		t.Errorf("rootfs not read-only")
	}
	checks := []struct {
		dst, typ, src string
		opts          []string
	}{
		{"/dev/shm", "tmpfs", "shm", []string{"size=1048576"}},
		{"/sys", "sysfs", "sysfs", []string{"ro"}},
		{"/sys/fs/cgroup", "cgroup", "cgroup", []string{"ro"}},
		{"/dev/pts", "devpts", "devpts", []string{"newinstance"}},
		{"/dev/mqueue", "mqueue", "mqueue", nil},
		{"/etc/hosts", "bind", "/state/hosts", []string{"rbind"}},
		{"/etc/resolv.conf", "bind", "/state/resolv.conf", nil},
		{"/etc/hostname", "bind", "/state/hostname", nil},
		{"/data", "bind", "/src", []string{"rbind", "ro"}},
		{"/var/lib/x", "bind", "/vol/x", []string{"rbind"}},
		{"/run", "tmpfs", "tmpfs", []string{"size=1048576", "mode=1777"}},
	}
	for _, c := range checks {
		m, n := mountAt(s, c.dst)
		if n != 1 || m.Type != c.typ || m.Source != c.src {
			t.Errorf("mount %s: %d mounts, %+v", c.dst, n, m)
			continue
		}
		for _, o := range c.opts {
			if !slices.Contains(m.Options, o) {
				t.Errorf("mount %s lacks option %s: %v", c.dst, o, m.Options)
			}
		}
	}
	var netns specs.LinuxNamespace
	for _, n := range s.Linux.Namespaces {
		if n.Type == specs.NetworkNamespace {
			netns = n
		}
	}
	if netns.Path != "/run/netns/n1" {
		t.Errorf("network namespace = %+v", netns)
	}
	h := genSpec(t, SpecInput{Create: CreateConfig{Cmd: []string{"x"}, Network: NetworkConfig{Mode: NetworkHost}}, HostHostname: "vm"})
	for _, n := range h.Linux.Namespaces {
		if n.Type == specs.NetworkNamespace {
			t.Errorf("host network still has a network namespace")
		}
	}
	if h.Hostname != "vm" {
		t.Errorf("host network hostname = %q", h.Hostname)
	}
	u := genSpec(t, SpecInput{Create: CreateConfig{Cmd: []string{"x"}, Mounts: []Mount{{Type: MountTmpfs, Target: "/dev/shm"}}}})
	if m, n := mountAt(u, "/dev/shm"); n != 1 || m.Source != "tmpfs" {
		t.Errorf("user /dev/shm does not replace the default: %d %+v", n, m)
	}
}

func TestSpecInit(t *testing.T) {
	s := genSpec(t, SpecInput{Create: CreateConfig{Cmd: []string{"x"}, Init: true}, InitPath: "/usr/bin/tini"})
	if !reflect.DeepEqual(s.Process.Args, []string{"/sbin/docker-init", "--", "x"}) {
		t.Errorf("args = %q", s.Process.Args)
	}
	if m, n := mountAt(s, "/sbin/docker-init"); n != 1 || m.Source != "/usr/bin/tini" {
		t.Errorf("init mount = %+v", m)
	}
}

func TestHostsFile(t *testing.T) {
	got, err := HostsFile([]string{"db:10.0.0.2", "v6=[::1]"}, []string{"172.17.0.2\tweb"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"127.0.0.1\tlocalhost\n", "10.0.0.2\tdb\n", "::1\tv6\n", "172.17.0.2\tweb\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("hosts lacks %q:\n%s", want, got)
		}
	}
	if _, err := HostsFile([]string{"bad"}, nil); err == nil {
		t.Errorf("invalid extra host accepted")
	}
}
