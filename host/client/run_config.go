package client

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/spf13/pflag"

	"github.com/berth-dev/berth/host/forward"
	"github.com/berth-dev/berth/host/share"
)

// createBodies is what `create` sends: docker's three create bodies.
type createBodies struct {
	Config           *container.Config
	HostConfig       *container.HostConfig
	NetworkingConfig *network.NetworkingConfig
}

// toConfig builds docker's create bodies from the flags, with the
// semantics of docker's CLI (cli/command/container/opts.go). Errors are
// the user's: bad values that docker rejects before creating anything.
func (o *containerOptions) toConfig(flags *pflag.FlagSet) (*createBodies, error) {
	attach := o.attachStreams()
	binds, volumes, mounts, err := o.volumeBinds()
	if err != nil {
		return nil, err
	}
	exposed, bindings, err := o.ports()
	if err != nil {
		return nil, err
	}
	env, err := readKVFiles(o.envFile, o.env.values, true)
	if err != nil {
		return nil, fmt.Errorf("--env-file: %w", err)
	}
	labels, err := readKVFiles(o.labelFile, o.labels.values, false)
	if err != nil {
		return nil, fmt.Errorf("--label-file: %w", err)
	}
	restart, tmpfs, err := o.checkPolicies()
	if err != nil {
		return nil, err
	}
	cfg := &container.Config{
		Hostname:     o.hostname,
		Domainname:   o.domainname,
		ExposedPorts: exposed,
		User:         o.user,
		Tty:          o.tty,
		OpenStdin:    o.stdin,
		AttachStdin:  attach["stdin"],
		AttachStdout: attach["stdout"],
		AttachStderr: attach["stderr"],
		Env:          env,
		Cmd:          o.args,
		Image:        o.image,
		Volumes:      volumes,
		Entrypoint:   o.entrypointValue(flags),
		WorkingDir:   o.workdir,
		Labels:       kvMap(labels),
		StopSignal:   o.stopSignal,
	}
	if len(o.args) == 0 {
		cfg.Cmd = nil
	}
	if flags.Changed("stop-timeout") {
		t := o.stopTime
		cfg.StopTimeout = &t
	}
	if cfg.OpenStdin && cfg.AttachStdin {
		cfg.StdinOnce = true
	}
	hc, err := o.hostConfig(flags, binds, bindings, tmpfs, restart)
	if err != nil {
		return nil, err
	}
	hc.Mounts = mounts
	nc, err := o.networkingConfig()
	if err != nil {
		return nil, err
	}
	return &createBodies{Config: cfg, HostConfig: hc, NetworkingConfig: nc}, nil
}

// attachStreams is -a, or stdout and stderr by default, plus stdin with -i.
func (o *containerOptions) attachStreams() map[string]bool {
	attach := map[string]bool{}
	for _, a := range o.attach.values {
		attach[a] = true
	}
	if len(o.attach.values) == 0 {
		attach["stdout"], attach["stderr"] = true, true
	}
	if o.stdin {
		attach["stdin"] = true
	}
	return attach
}

// entrypointValue is --entrypoint; "--entrypoint=" resets the image's.
func (o *containerOptions) entrypointValue(flags *pflag.FlagSet) []string {
	if o.entrypoint != "" {
		return []string{o.entrypoint}
	}
	if flags.Changed("entrypoint") {
		return []string{""}
	}
	return nil
}

// checkPolicies checks the flags docker's CLI or daemon reject on their
// own (restart policy, --rm with --restart, log opts, --pull, swap below
// memory, tmpfs paths) and returns the restart policy and tmpfs mounts.
func (o *containerOptions) checkPolicies() (container.RestartPolicy, map[string]string, error) {
	restart, err := parseRestartPolicy(o.restart)
	if err != nil {
		return container.RestartPolicy{}, nil, err
	}
	if o.autoRemove && !restart.IsNone() {
		return container.RestartPolicy{}, nil, errors.New("conflicting options: cannot specify both --restart and --rm")
	}
	if o.logDriver == "none" && len(o.logOpts) > 0 {
		return container.RestartPolicy{}, nil, fmt.Errorf("invalid logging opts for driver %s", o.logDriver)
	}
	switch o.pull {
	case pullMissing, pullAlways, pullNever:
	default:
		return container.RestartPolicy{}, nil, fmt.Errorf("invalid pull option: '%s': must be one of \"always\", \"missing\" or \"never\"", o.pull)
	}
	if o.memSwap > 0 && o.memory > 0 && int64(o.memSwap) < int64(o.memory) {
		return container.RestartPolicy{}, nil, errors.New("Minimum memoryswap limit should be larger than memory limit, see usage")
	}
	tmpfs := map[string]string{}
	for _, t := range o.tmpfs {
		k, v, _ := strings.Cut(t, ":")
		if !strings.HasPrefix(k, "/") {
			return container.RestartPolicy{}, nil, fmt.Errorf("invalid tmpfs mount %q: the path must be absolute", t)
		}
		tmpfs[k] = v
	}
	return restart, tmpfs, nil
}

func (o *containerOptions) hostConfig(flags *pflag.FlagSet, binds []string, ports network.PortMap, tmpfs map[string]string, restart container.RestartPolicy) (*container.HostConfig, error) {
	dns := make([]netip.Addr, 0, len(o.dns.values))
	for _, d := range o.dns.values {
		dns = append(dns, netip.MustParseAddr(d)) // validated by the flag
	}
	sysctls := map[string]string{}
	for _, s := range o.sysctls {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return nil, fmt.Errorf("sysctl '%s' is not allowed", s)
		}
		sysctls[k] = v
	}
	var devices []container.DeviceMapping
	for _, d := range o.devices {
		dm, err := parseDevice(d)
		if err != nil {
			return nil, err
		}
		devices = append(devices, dm)
	}
	hc := &container.HostConfig{
		Binds:           binds,
		AutoRemove:      o.autoRemove,
		Privileged:      o.privileged,
		PortBindings:    ports,
		PublishAllPorts: o.publishAll,
		DNS:             dns,
		DNSSearch:       nonNil(o.dnsSearch),
		DNSOptions:      nonNil(o.dnsOptions),
		ExtraHosts:      o.extraHosts.values,
		NetworkMode:     container.NetworkMode(o.network),
		CapAdd:          o.capAdd,
		CapDrop:         o.capDrop,
		GroupAdd:        o.groupAdd,
		RestartPolicy:   restart,
		SecurityOpt:     o.securityOp,
		ReadonlyRootfs:  o.readOnly,
		LogConfig:       container.LogConfig{Type: o.logDriver, Config: kvMap(o.logOpts)},
		ShmSize:         int64(o.shmSize),
		Tmpfs:           tmpfs,
		Sysctls:         sysctls,
		Mounts:          o.mounts.values,
		PidMode:         container.PidMode(o.pid),
		IpcMode:         container.IpcMode(o.ipc),
		UTSMode:         container.UTSMode(o.uts),
		Resources: container.Resources{
			Memory:            int64(o.memory),
			MemorySwap:        int64(o.memSwap),
			MemoryReservation: int64(o.memResv),
			NanoCPUs:          int64(o.cpus),
			CPUShares:         o.cpuShares,
			CpusetCpus:        o.cpusetCpus,
			Ulimits:           o.ulimits.values,
			Devices:           devices,
		},
	}
	if flags.Changed("pids-limit") {
		n := o.pidsLimit
		hc.PidsLimit = &n
	}
	if flags.Changed("init") {
		b := o.init
		hc.Init = &b
	}
	return hc, nil
}

// networkingConfig is the endpoint for --network with --network-alias and
// --ip. docker rejects those on the default networks.
func (o *containerOptions) networkingConfig() (*network.NetworkingConfig, error) {
	nc := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{}}
	if o.network == "" && (len(o.aliases) > 0 || o.ip != "" || o.ip6 != "") {
		return nil, errors.New("--network-alias and --ip need a user-defined network (--network NAME)")
	}
	if o.network == "" {
		return nc, nil
	}
	ep := &network.EndpointSettings{Aliases: o.aliases}
	if o.ip != "" || o.ip6 != "" {
		ep.IPAMConfig = &network.EndpointIPAMConfig{}
		if o.ip != "" {
			a, err := netip.ParseAddr(o.ip)
			if err != nil || !a.Is4() {
				return nil, fmt.Errorf("invalid IPv4 address: %s", o.ip)
			}
			ep.IPAMConfig.IPv4Address = a
		}
		if o.ip6 != "" {
			a, err := netip.ParseAddr(o.ip6)
			if err != nil || !a.Is6() {
				return nil, fmt.Errorf("invalid IPv6 address: %s", o.ip6)
			}
			ep.IPAMConfig.IPv6Address = a
		}
	}
	nc.EndpointsConfig[o.network] = ep
	return nc, nil
}

// volumeBinds splits -v values into binds (named volumes and host paths)
// and anonymous volumes, as docker does. Host paths become the paths the
// machine's VM sees them at; --mount bind sources too.
func (o *containerOptions) volumeBinds() ([]string, map[string]struct{}, []mount.Mount, error) {
	res, err := o.bindResolver()
	if err != nil {
		return nil, nil, nil, err
	}
	var binds []string
	volumes := map[string]struct{}{}
	for _, v := range o.volumes {
		spec, err := res.TranslateVolume(v)
		if err != nil {
			return nil, nil, nil, err
		}
		if spec.Source == "" {
			volumes[spec.Target] = struct{}{}
			continue
		}
		binds = append(binds, spec.String())
	}
	if len(volumes) == 0 {
		volumes = nil
	}
	mounts := slices.Clone(o.mounts.values)
	for i, m := range mounts {
		if m.Type == mount.TypeBind {
			if mounts[i].Source, err = res.Translate(m.Source); err != nil {
				return nil, nil, nil, err
			}
		}
	}
	return binds, volumes, mounts, nil
}

// bindResolver is the resolver of bind sources: the one set by the
// caller, or the host's defaults.
func (o *containerOptions) bindResolver() (share.Resolver, error) {
	if o.resolver != nil {
		return *o.resolver, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return share.Resolver{}, fmt.Errorf("cannot find the working directory for relative bind paths: %w", err)
	}
	home, _ := os.UserHomeDir()
	return share.Resolver{OS: runtime.GOOS, WorkDir: wd, HomeDir: home, EvalSymlinks: filepath.EvalSymlinks}, nil
}

// ports parses -p (short syntax and docker's long "published=,target="
// syntax) and --expose.
func (o *containerOptions) ports() (network.PortSet, network.PortMap, error) {
	var specs []string
	for _, p := range o.publish {
		if !strings.Contains(p, "=") {
			specs = append(specs, p)
			continue
		}
		params := map[string]string{"protocol": "tcp"}
		for _, kv := range strings.Split(p, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return nil, nil, fmt.Errorf("invalid publish opts format (should be name=value but got '%s')", kv)
			}
			params[k] = v
		}
		specs = append(specs, fmt.Sprintf("%s:%s/%s", params["published"], params["target"], params["protocol"]))
	}
	bs, err := forward.ParsePortSpecs(specs)
	if err != nil {
		return nil, nil, err
	}
	bindings := forward.PortMap(bs)
	exposed := network.PortSet{}
	for p := range bindings {
		exposed[p] = struct{}{}
	}
	for _, e := range o.expose {
		pr, err := network.ParsePortRange(e)
		if err != nil {
			return nil, nil, fmt.Errorf("invalid range format for --expose: %w", err)
		}
		for p := range pr.All() {
			exposed[p] = struct{}{}
		}
	}
	if len(exposed) == 0 {
		exposed = nil
	}
	return exposed, bindings, nil
}

// parseRestartPolicy parses --restart and validates it as docker's daemon
// does, so a bad policy fails before anything is created.
func parseRestartPolicy(s string) (container.RestartPolicy, error) {
	if s == "" {
		return container.RestartPolicy{}, nil
	}
	name, count, ok := strings.Cut(s, ":")
	if ok && name == "" {
		return container.RestartPolicy{}, errors.New("invalid restart policy format: no policy provided before colon")
	}
	p := container.RestartPolicy{Name: container.RestartPolicyMode(name)}
	if count != "" {
		n, err := parseInt(count)
		if err != nil {
			return container.RestartPolicy{}, errors.New("invalid restart policy format: maximum retry count must be an integer")
		}
		p.MaximumRetryCount = n
	}
	if err := container.ValidateRestartPolicy(p); err != nil {
		return container.RestartPolicy{}, err
	}
	return p, nil
}

func parseInt(s string) (int, error) {
	var n int
	_, err := fmt.Sscanf(s, "%d", &n)
	if err == nil && fmt.Sprint(n) != strings.TrimLeft(s, "+") {
		err = fmt.Errorf("not an integer: %s", s)
	}
	return n, err
}

// parseDevice parses --device HOST[:CONTAINER[:PERMISSIONS]].
func parseDevice(s string) (container.DeviceMapping, error) {
	parts := strings.Split(s, ":")
	d := container.DeviceMapping{PathOnHost: parts[0], PathInContainer: parts[0], CgroupPermissions: "rwm"}
	switch len(parts) {
	case 1:
	case 2:
		if isDevicePerm(parts[1]) {
			d.CgroupPermissions = parts[1]
		} else {
			d.PathInContainer = parts[1]
		}
	case 3:
		d.PathInContainer, d.CgroupPermissions = parts[1], parts[2]
	default:
		return d, fmt.Errorf("invalid device specification: %s", s)
	}
	if !strings.HasPrefix(d.PathInContainer, "/") || !isDevicePerm(d.CgroupPermissions) {
		return d, fmt.Errorf("invalid device specification: %s", s)
	}
	return d, nil
}

func isDevicePerm(s string) bool {
	return s != "" && strings.Trim(s, "rwm") == ""
}
