//go:build linux

package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	units "github.com/docker/go-units"
	ctypes "github.com/moby/moby/api/types/container"
	ntypes "github.com/moby/moby/api/types/network"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/guest/container"
	"github.com/berth-dev/berth/guest/image"
	"github.com/berth-dev/berth/guest/network"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// createBodies are docker's three create documents.
type createBodies struct {
	cfg *ctypes.Config
	hc  *ctypes.HostConfig
	nc  *ntypes.NetworkingConfig
}

func decodeCreate(req *agentv1.CreateContainerRequest) (createBodies, error) {
	b := createBodies{cfg: &ctypes.Config{}, hc: &ctypes.HostConfig{}, nc: &ntypes.NetworkingConfig{}}
	for _, d := range []struct {
		what string
		raw  []byte
		into any
	}{{"config", req.Config, b.cfg}, {"host config", req.HostConfig, b.hc}, {"networking config", req.NetworkingConfig, b.nc}} {
		if len(d.raw) == 0 {
			continue
		}
		if err := json.Unmarshal(d.raw, d.into); err != nil {
			return b, fmt.Errorf("invalid %s: %v: %w", d.what, err, errdefs.ErrInvalidArgument)
		}
	}
	if b.cfg.Image == "" {
		return b, newKindError(errdefs.ErrInvalidArgument, "config.Image is required: name the image to create the container from")
	}
	return b, validateHostConfig(b.hc)
}

// validateHostConfig applies docker's checks with docker's messages.
func validateHostConfig(hc *ctypes.HostConfig) error {
	p := hc.RestartPolicy
	switch p.Name {
	case "", ctypes.RestartPolicyDisabled, ctypes.RestartPolicyAlways, ctypes.RestartPolicyUnlessStopped:
		if p.MaximumRetryCount != 0 {
			return newKindError(errdefs.ErrInvalidArgument, "invalid restart policy: maximum retry count can only be used with 'on-failure'")
		}
	case ctypes.RestartPolicyOnFailure:
		if p.MaximumRetryCount < 0 {
			return newKindError(errdefs.ErrInvalidArgument, "invalid restart policy: maximum retry count cannot be negative")
		}
	default:
		return newKindError(errdefs.ErrInvalidArgument, "invalid restart policy: unknown policy '%s'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'", p.Name)
	}
	if hc.AutoRemove && !p.IsNone() {
		return newKindError(errdefs.ErrInvalidArgument, "can't create 'AutoRemove' container with restart policy")
	}
	switch t := hc.LogConfig.Type; t {
	case "", "json-file", "local":
	default:
		return newKindError(errdefs.ErrInvalidArgument, "logging driver %q is not supported: only json-file is", t)
	}
	if hc.ShmSize < 0 {
		return newKindError(errdefs.ErrInvalidArgument, "SHM size can not be less than 0")
	}
	if hc.Memory != 0 && hc.Memory < 6*1024*1024 {
		return newKindError(errdefs.ErrInvalidArgument, "Minimum memory limit allowed is 6MB")
	}
	return nil
}

// logConfig parses the json-file options max-size and max-file.
func logConfig(lc ctypes.LogConfig) (container.LogConfig, error) {
	var out container.LogConfig
	for k, v := range lc.Config {
		switch k {
		case "max-size":
			n, err := units.FromHumanSize(v)
			if err != nil || n < 0 {
				return out, newKindError(errdefs.ErrInvalidArgument, "invalid log opt max-size %q: use a size like 10m", v)
			}
			out.MaxSize = n
		case "max-file":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return out, newKindError(errdefs.ErrInvalidArgument, "invalid value for max-file: %s", v)
			}
			out.MaxFile = n
		case "compress", "labels", "env", "tag", "mode":
		default:
			return out, newKindError(errdefs.ErrInvalidArgument, "unknown log opt '%s' for json-file log driver", k)
		}
	}
	if out.MaxFile > 1 && out.MaxSize == 0 {
		return out, newKindError(errdefs.ErrInvalidArgument, "max-file cannot be set without max-size")
	}
	return out, nil
}

// resolveNetworks turns NetworkMode and EndpointsConfig into the networks
// the container joins, keyed by network name.
func (e *engine) resolveNetworks(ctx context.Context, b createBodies) (map[string]*ntypes.EndpointSettings, error) {
	hc, nc := b.hc, b.nc
	mode := string(hc.NetworkMode)
	if mode == "" || mode == "default" {
		mode = network.NameBridge
		hc.NetworkMode = ctypes.NetworkMode(mode)
	}
	if strings.HasPrefix(mode, "container:") {
		return e.resolveJoin(b)
	}
	out := map[string]*ntypes.EndpointSettings{}
	add := func(ref string, es *ntypes.EndpointSettings) error {
		n, err := e.nets.Inspect(ctx, ref)
		if err != nil {
			return err
		}
		if es == nil {
			es = &ntypes.EndpointSettings{}
		}
		es = es.Copy()
		es.NetworkID = n.ID
		out[n.Name] = es
		return nil
	}
	if err := add(mode, nc.EndpointsConfig[mode]); err != nil {
		return nil, err
	}
	for ref, es := range nc.EndpointsConfig {
		if ref == mode {
			continue
		}
		if err := add(ref, es); err != nil {
			return nil, err
		}
	}
	if len(out) > 1 {
		for name := range out {
			if name == network.NameHost || name == network.NameNone {
				return nil, newKindError(errdefs.ErrInvalidArgument, "container cannot be disconnected from host network or connected to host network")
			}
		}
	}
	return out, nil
}

// imageView is what create needs of an image.
type imageView struct {
	img    *image.Image
	config ocispec.ImageConfig
	lowers []string
}

func (e *engine) resolveImage(ctx context.Context, ref string) (*imageView, error) {
	img, cf, err := e.images.Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	lowers, err := e.images.Snapshots().LowerDirs(img.ChainIDs)
	if err != nil {
		return nil, fmt.Errorf("image %s: layers are missing (pull it again): %w", ref, err)
	}
	v := &imageView{img: img, lowers: lowers}
	raw, _ := json.Marshal(cf.Config)
	if err := json.Unmarshal(raw, &v.config); err != nil {
		return nil, fmt.Errorf("image %s: bad config: %w", ref, err)
	}
	return v, nil
}

// runtimeConfig translates docker's create bodies into the runtime's Config.
func runtimeConfig(id, name string, b createBodies, iv *imageView, mounts []mountRecord) (*container.Config, error) {
	cfg, hc := b.cfg, b.hc
	lc, err := logConfig(hc.LogConfig)
	if err != nil {
		return nil, err
	}
	cc := container.CreateConfig{
		Cmd: cfg.Cmd, Entrypoint: cfg.Entrypoint, Env: cfg.Env, WorkingDir: cfg.WorkingDir,
		User: cfg.User, GroupAdd: hc.GroupAdd, Tty: cfg.Tty, OpenStdin: cfg.OpenStdin, StdinOnce: cfg.StdinOnce,
		Hostname: cfg.Hostname, Domainname: cfg.Domainname, Labels: cfg.Labels,
		StopSignal: cfg.StopSignal, StopTimeout: cfg.StopTimeout, ReadonlyRootfs: hc.ReadonlyRootfs,
		Privileged: hc.Privileged, CapAdd: hc.CapAdd, CapDrop: hc.CapDrop,
		Init: hc.Init != nil && *hc.Init, Memory: hc.Memory, NanoCPUs: hc.NanoCPUs, ShmSize: hc.ShmSize,
		ExtraHosts: hc.ExtraHosts,
	}
	if hc.PidsLimit != nil && *hc.PidsLimit > 0 {
		cc.PidsLimit = *hc.PidsLimit
	}
	for _, u := range hc.Ulimits {
		cc.Ulimits = append(cc.Ulimits, container.Ulimit{Name: u.Name, Soft: uint64(u.Soft), Hard: uint64(u.Hard)})
	}
	for _, m := range mounts {
		cc.Mounts = append(cc.Mounts, container.Mount{
			Type: runtimeMountType(m.Type), Source: m.Source, Target: m.Destination, ReadOnly: !m.RW,
			TmpfsSize: m.TmpfsSize, TmpfsMode: m.TmpfsMode,
		})
	}
	return &container.Config{
		ID: id, Name: name, Image: iv.config, Lowers: iv.lowers, Create: cc,
		Restart: container.RestartPolicy{}, // the engine applies restart policies
		Log:     lc, Created: time.Now().UTC(),
	}, nil
}

func runtimeMountType(t string) string {
	switch t {
	case "volume":
		return container.MountVolume
	case "tmpfs":
		return container.MountTmpfs
	}
	return container.MountBind
}

// mergedConfig is docker's inspect Config: the create config completed
// from the image's.
func mergedConfig(cfg *ctypes.Config, img ocispec.ImageConfig) *ctypes.Config {
	c := *cfg
	c.Env = container.MergeEnv(img.Env, cfg.Env, "", false)
	c.Env = slices.DeleteFunc(c.Env, func(s string) bool { return strings.HasPrefix(s, "HOSTNAME=") })
	if len(c.Cmd) == 0 && cfg.Entrypoint == nil {
		c.Cmd = img.Cmd
	}
	if cfg.Entrypoint == nil {
		c.Entrypoint = img.Entrypoint
	}
	if c.WorkingDir == "" {
		c.WorkingDir = img.WorkingDir
	}
	if c.User == "" {
		c.User = img.User
	}
	if c.StopSignal == "" {
		c.StopSignal = img.StopSignal
	}
	labels := maps.Clone(img.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	maps.Copy(labels, cfg.Labels)
	c.Labels = labels
	if len(img.Volumes) > 0 && c.Volumes == nil {
		c.Volumes = map[string]struct{}{}
	}
	for v := range img.Volumes {
		c.Volumes[v] = struct{}{}
	}
	c.ExposedPorts = maps.Clone(cfg.ExposedPorts)
	for p := range img.ExposedPorts {
		if np, err := ntypes.ParsePort(p); err == nil {
			if c.ExposedPorts == nil {
				c.ExposedPorts = ntypes.PortSet{}
			}
			c.ExposedPorts[np] = struct{}{}
		}
	}
	return &c
}

// pathArgs is docker's Path and Args: the process's argv split.
func pathArgs(c *ctypes.Config) (string, []string) {
	argv := append(append([]string{}, c.Entrypoint...), c.Cmd...)
	if len(argv) == 0 {
		return "", []string{}
	}
	return argv[0], argv[1:]
}
