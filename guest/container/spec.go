package container

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// SpecInput is what GenerateSpec turns into an OCI runtime spec.
type SpecInput struct {
	ID     string
	Image  ocispec.ImageConfig
	Create CreateConfig
	// Rootfs is the container's (mounted) root filesystem; users and groups
	// are looked up in its /etc/passwd and /etc/group.
	Rootfs string
	// EtcHosts, EtcHostname and EtcResolvConf are files bind-mounted over
	// /etc/hosts, /etc/hostname and /etc/resolv.conf (skipped when empty).
	EtcHosts, EtcHostname, EtcResolvConf string
	// HardLimits maps RLIMIT_* names to the agent's current hard limit;
	// container rlimits are clamped to them (root lacks CAP_SYS_RESOURCE
	// in some environments). Missing names are not clamped.
	HardLimits map[string]uint64
	// InitPath is the host path of the init binary used for CreateConfig.Init.
	InitPath string
	// HostHostname is used as hostname with NetworkHost.
	HostHostname string
	// PrivateCgroupNS gives the container its own cgroup namespace
	// (docker's default on a cgroup v2 host, cgroupns=private), so that its
	// /sys/fs/cgroup is its own cgroup: memory.max, cpu.max, pids.max.
	PrivateCgroupNS bool
}

// initPathInContainer is where the init binary is bind-mounted (docker's).
const initPathInContainer = "/sbin/docker-init"

// ociVersion is the spec version written: crun 1.8 rejects versions it
// does not know (such as 1.2.x) although the fields used are all 1.0.
const ociVersion = "1.0.2"

// GenerateSpec builds the container's OCI runtime spec with docker's defaults.
func GenerateSpec(in SpecInput) (*specs.Spec, error) {
	args, err := processArgs(in.Image, in.Create)
	if err != nil {
		return nil, err
	}
	user, err := ResolveUser(in.Rootfs, firstNonEmpty(in.Create.User, in.Image.User), in.Create.GroupAdd)
	if err != nil {
		return nil, err
	}
	hostname := Hostname(in)
	s := &specs.Spec{
		Version:  ociVersion,
		Root:     &specs.Root{Path: in.Rootfs, Readonly: in.Create.ReadonlyRootfs},
		Hostname: hostname,
		Process: &specs.Process{
			Terminal:        in.Create.Tty,
			Args:            args,
			Env:             MergeEnv(in.Image.Env, in.Create.Env, hostname, in.Create.Tty),
			Cwd:             firstNonEmpty(in.Create.WorkingDir, in.Image.WorkingDir, "/"),
			User:            specs.User{UID: user.UID, GID: user.GID, AdditionalGids: user.AdditionalGids},
			NoNewPrivileges: false,
		},
		Annotations: map[string]string{},
	}
	if !path.IsAbs(s.Process.Cwd) {
		return nil, fmt.Errorf("working directory %q is not an absolute path: %w", s.Process.Cwd, errdefs.ErrInvalidArgument)
	}
	if s.Process.Capabilities, err = capabilities(in.Create); err != nil {
		return nil, err
	}
	if s.Process.Rlimits, err = rlimits(in.Create.Ulimits, in.HardLimits); err != nil {
		return nil, err
	}
	if in.Create.Init {
		if in.InitPath == "" {
			return nil, fmt.Errorf("--init: no init binary is configured in this engine: %w", errdefs.ErrNotImplemented)
		}
		s.Process.Args = append([]string{initPathInContainer, "--"}, args...)
	}
	if err := setLinux(s, in); err != nil {
		return nil, err
	}
	s.Mounts, err = mounts(in)
	return s, err
}

// Hostname is the container's hostname: the configured one, the agent's
// with host networking, else the first 12 characters of the ID (docker's).
func Hostname(in SpecInput) string {
	switch {
	case in.Create.Hostname != "":
		return in.Create.Hostname
	case in.Create.Network.Mode == NetworkHost && in.HostHostname != "":
		return in.HostHostname
	case len(in.ID) > 12:
		return in.ID[:12]
	}
	return in.ID
}

// processArgs applies docker's entrypoint/cmd rules: an explicit entrypoint
// resets the image's Cmd; a given Cmd replaces the image's.
func processArgs(img ocispec.ImageConfig, c CreateConfig) ([]string, error) {
	entrypoint, cmd := img.Entrypoint, img.Cmd
	if c.Entrypoint != nil {
		entrypoint, cmd = c.Entrypoint, nil
		if len(entrypoint) == 1 && entrypoint[0] == "" {
			entrypoint = nil
		}
	}
	if len(c.Cmd) > 0 {
		cmd = c.Cmd
	}
	args := append(append([]string{}, entrypoint...), cmd...)
	if len(args) == 0 {
		return nil, fmt.Errorf("no command specified: %w", errdefs.ErrInvalidArgument)
	}
	return args, nil
}

// MergeEnv builds the process environment like docker: PATH (default when
// the image and user set none), HOSTNAME, TERM=xterm with a tty, then the
// image's env overridden by the user's.
func MergeEnv(imageEnv, userEnv []string, hostname string, tty bool) []string {
	merged := replaceOrAppendEnv(append([]string{}, imageEnv...), userEnv)
	base := []string{}
	if !hasEnv(merged, "PATH") {
		base = append(base, "PATH="+defaultPath)
	}
	base = append(base, "HOSTNAME="+hostname)
	if tty {
		base = append(base, "TERM=xterm")
	}
	return replaceOrAppendEnv(base, merged)
}

func replaceOrAppendEnv(env, overrides []string) []string {
	idx := map[string]int{}
	for i, e := range env {
		k, _, _ := strings.Cut(e, "=")
		idx[k] = i
	}
	for _, e := range overrides {
		k, _, hasValue := strings.Cut(e, "=")
		if !hasValue {
			continue // docker: "-e NAME" without value and unset on the client
		}
		if i, ok := idx[k]; ok {
			env[i] = e
			continue
		}
		idx[k] = len(env)
		env = append(env, e)
	}
	return env
}

func hasEnv(env []string, key string) bool {
	for _, e := range env {
		if strings.HasPrefix(e, key+"=") {
			return true
		}
	}
	return false
}

// capabilities applies --privileged, --cap-add and --cap-drop to docker's
// default set. "ALL" works in both lists; names may omit the CAP_ prefix.
func capabilities(c CreateConfig) (*specs.LinuxCapabilities, error) {
	set := map[string]bool{}
	base := defaultCaps
	if c.Privileged {
		base = allCaps
	}
	for _, capName := range base {
		set[capName] = true
	}
	for _, d := range c.CapDrop {
		n, err := normalizeCap(d)
		if err != nil {
			return nil, err
		}
		if n == "ALL" {
			set = map[string]bool{}
			continue
		}
		delete(set, n)
	}
	for _, a := range c.CapAdd {
		n, err := normalizeCap(a)
		if err != nil {
			return nil, err
		}
		if n == "ALL" {
			for _, capName := range allCaps {
				set[capName] = true
			}
			continue
		}
		set[n] = true
	}
	list := make([]string, 0, len(set))
	for k := range set {
		list = append(list, k)
	}
	sort.Strings(list)
	return &specs.LinuxCapabilities{Bounding: list, Effective: list, Permitted: list}, nil
}

func normalizeCap(s string) (string, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	if u == "ALL" {
		return u, nil
	}
	if !strings.HasPrefix(u, "CAP_") {
		u = "CAP_" + u
	}
	if !contains(allCaps, u) {
		return "", fmt.Errorf("unknown capability: %q: %w", s, errdefs.ErrInvalidArgument)
	}
	return u, nil
}

// rlimits turns the defaults plus --ulimit into spec rlimits clamped to hard.
func rlimits(ulimits []Ulimit, hard map[string]uint64) ([]specs.POSIXRlimit, error) {
	byName := map[string]Ulimit{}
	var order []string
	for _, u := range append(append([]Ulimit{}, defaultRlimits...), ulimits...) {
		name := "RLIMIT_" + strings.ToUpper(strings.TrimPrefix(strings.ToLower(u.Name), "rlimit_"))
		if u.Soft > u.Hard {
			return nil, fmt.Errorf("ulimit %s: soft limit %d is larger than hard limit %d: %w", u.Name, u.Soft, u.Hard, errdefs.ErrInvalidArgument)
		}
		if _, ok := byName[name]; !ok {
			order = append(order, name)
		}
		byName[name] = u
	}
	out := make([]specs.POSIXRlimit, 0, len(order))
	for _, name := range order {
		u := byName[name]
		if h, ok := hard[name]; ok {
			u.Hard = min(u.Hard, h)
			u.Soft = min(u.Soft, u.Hard)
		}
		out = append(out, specs.POSIXRlimit{Type: name, Hard: u.Hard, Soft: u.Soft})
	}
	return out, nil
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
