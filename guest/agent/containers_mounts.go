//go:build linux

package agent

import (
	"context"
	"fmt"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	units "github.com/docker/go-units"
	ctypes "github.com/moby/moby/api/types/container"
	mtypes "github.com/moby/moby/api/types/mount"

	"github.com/berth-dev/berth/guest/volume"
)

// mountSpec is one requested mount before volumes are made.
type mountSpec struct {
	mountRecord
	noCopy bool
}

// parseMounts collects -v binds, --mount, --tmpfs, -v /path and the
// image's VOLUMEs into one list, one entry per destination.
func parseMounts(cfg *ctypes.Config, hc *ctypes.HostConfig, imageVolumes map[string]struct{}) ([]mountSpec, error) {
	var out []mountSpec
	seen := map[string]bool{}
	add := func(m mountSpec) error {
		if !path.IsAbs(m.Destination) {
			return newKindError(errdefs.ErrInvalidArgument, "invalid mount config: the mount destination %q is not an absolute path", m.Destination)
		}
		m.Destination = path.Clean(m.Destination)
		if seen[m.Destination] {
			return newKindError(errdefs.ErrInvalidArgument, "Duplicate mount point: %s", m.Destination)
		}
		seen[m.Destination] = true
		out = append(out, m)
		return nil
	}
	for _, b := range hc.Binds {
		m, err := parseBind(b)
		if err != nil {
			return nil, err
		}
		if err := add(m); err != nil {
			return nil, err
		}
	}
	for _, hm := range hc.Mounts {
		m, err := parseMountAPI(hm)
		if err != nil {
			return nil, err
		}
		if err := add(m); err != nil {
			return nil, err
		}
	}
	for _, dst := range sortedKeys(hc.Tmpfs) {
		m, err := parseTmpfs(dst, hc.Tmpfs[dst])
		if err != nil {
			return nil, err
		}
		if err := add(m); err != nil {
			return nil, err
		}
	}
	for _, vols := range []map[string]struct{}{cfg.Volumes, imageVolumes} {
		for _, dst := range sortedKeys(vols) {
			if seen[path.Clean(dst)] {
				continue
			}
			m := mountSpec{mountRecord: mountRecord{Type: "volume", Destination: dst, RW: true, Anonymous: true}}
			if err := add(m); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// parseBind parses "-v src:dst[:opts]".
func parseBind(s string) (mountSpec, error) {
	parts := strings.Split(s, ":")
	var m mountSpec
	m.RW = true
	switch len(parts) {
	case 1:
		m.Type, m.Destination, m.Anonymous = "volume", parts[0], true
		return m, nil
	case 2, 3:
		m.Source, m.Destination = parts[0], parts[1]
	default:
		return m, newKindError(errdefs.ErrInvalidArgument, "invalid volume specification: '%s'", s)
	}
	if m.Source == "" {
		return m, newKindError(errdefs.ErrInvalidArgument, "invalid volume specification: '%s'", s)
	}
	if path.IsAbs(m.Source) {
		m.Type = "bind"
	} else {
		m.Type, m.Name, m.Source = "volume", m.Source, ""
	}
	if len(parts) == 3 {
		m.Mode = parts[2]
		for _, o := range strings.Split(parts[2], ",") {
			switch o {
			case "ro":
				m.RW = false
			case "rw", "z", "Z", "consistent", "cached", "delegated", "rprivate", "private", "rshared", "shared", "rslave", "slave":
			case "nocopy":
				m.noCopy = true
			default:
				return m, newKindError(errdefs.ErrInvalidArgument, "invalid mode: %s", o)
			}
		}
	}
	return m, nil
}

// parseMountAPI converts one --mount entry.
func parseMountAPI(hm mtypes.Mount) (mountSpec, error) {
	m := mountSpec{mountRecord: mountRecord{Destination: hm.Target, RW: !hm.ReadOnly}}
	switch hm.Type {
	case mtypes.TypeBind:
		m.Type, m.Source = "bind", hm.Source
		if _, err := os.Stat(hm.Source); err != nil {
			return m, newKindError(errdefs.ErrInvalidArgument, "invalid mount config for type \"bind\": bind source path does not exist: %s", hm.Source)
		}
	case mtypes.TypeVolume:
		m.Type, m.Name, m.Anonymous = "volume", hm.Source, hm.Source == ""
		if hm.VolumeOptions != nil {
			m.noCopy = hm.VolumeOptions.NoCopy
		}
	case mtypes.TypeTmpfs:
		m.Type = "tmpfs"
		if hm.Source != "" {
			return m, newKindError(errdefs.ErrInvalidArgument, "invalid mount config for type \"tmpfs\": field Source must not be specified")
		}
		if o := hm.TmpfsOptions; o != nil {
			m.TmpfsSize, m.TmpfsMode = o.SizeBytes, uint32(o.Mode.Perm())
		}
	default:
		return m, newKindError(errdefs.ErrInvalidArgument, "invalid mount config: mount type %q is not supported", hm.Type)
	}
	if hm.Target == "" {
		return m, newKindError(errdefs.ErrInvalidArgument, "invalid mount config for type %q: field Target must not be empty", hm.Type)
	}
	return m, nil
}

// parseTmpfs converts one --tmpfs dst:opts entry.
func parseTmpfs(dst, opts string) (mountSpec, error) {
	m := mountSpec{mountRecord: mountRecord{Type: "tmpfs", Destination: dst, RW: true, Mode: opts}}
	for _, o := range strings.Split(opts, ",") {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "":
		case "size":
			n, err := units.RAMInBytes(v)
			if err != nil {
				return m, newKindError(errdefs.ErrInvalidArgument, "invalid tmpfs option %q: %v", o, err)
			}
			m.TmpfsSize = n
		case "mode":
			n, err := strconv.ParseUint(v, 8, 32)
			if err != nil {
				return m, newKindError(errdefs.ErrInvalidArgument, "invalid tmpfs option %q: mode is octal", o)
			}
			m.TmpfsMode = uint32(n)
		case "ro":
			m.RW = false
		case "rw", "noexec", "exec", "nosuid", "suid", "nodev", "dev":
		default:
			return m, newKindError(errdefs.ErrInvalidArgument, "invalid tmpfs option %q", o)
		}
	}
	return m, nil
}

// makeMounts creates the volumes the specs need (anonymous ones and named
// ones that do not exist yet), copies image content into new empty
// volumes, and makes missing -v bind sources, as docker does.
func (e *engine) makeMounts(ctx context.Context, specs []mountSpec, lowers []string) ([]mountRecord, func(), error) {
	var made []string
	undo := func() {
		for _, n := range made {
			_ = e.volumes.Remove(context.WithoutCancel(ctx), n, true)
		}
	}
	out := make([]mountRecord, 0, len(specs))
	for _, s := range specs {
		m := s.mountRecord
		switch m.Type {
		case "bind":
			if _, err := os.Stat(m.Source); os.IsNotExist(err) {
				if err := os.MkdirAll(m.Source, 0o755); err != nil {
					undo()
					return nil, nil, fmt.Errorf("create bind source %s: %w", m.Source, err)
				}
			}
		case "volume":
			v, created, err := e.ensureVolume(ctx, m.Name)
			if err != nil {
				undo()
				return nil, nil, err
			}
			if created {
				made = append(made, v.Name)
			}
			m.Name, m.Source = v.Name, v.Mountpoint
			m.Anonymous = v.Anonymous
			if !s.noCopy {
				if err := copyUp(lowers, m.Destination, v.Mountpoint); err != nil {
					undo()
					return nil, nil, fmt.Errorf("copy image content into volume %s: %w", v.Name, err)
				}
			}
		}
		out = append(out, m)
	}
	return out, undo, nil
}

func (e *engine) ensureVolume(ctx context.Context, name string) (*volume.Volume, bool, error) {
	if name != "" {
		if v, err := e.volumes.Get(ctx, name); err == nil {
			return v, false, nil
		}
	}
	v, err := e.volumes.Create(ctx, volume.CreateOptions{Name: name})
	if err != nil {
		return nil, false, err
	}
	e.events.publish("volume", "create", v.Name, map[string]string{"driver": v.Driver})
	return v, true, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// mountPoints is docker's inspect Mounts.
func mountPoints(ms []mountRecord) []ctypes.MountPoint {
	out := make([]ctypes.MountPoint, 0, len(ms))
	for _, m := range ms {
		mp := ctypes.MountPoint{Type: mtypes.Type(m.Type), Source: m.Source, Destination: m.Destination, Mode: m.Mode, RW: m.RW}
		switch m.Type {
		case "volume":
			mp.Name, mp.Driver = m.Name, "local"
			mp.Mode = strings.TrimSuffix(mp.Mode, "")
		case "bind":
			mp.Propagation = mtypes.PropagationRPrivate
		}
		out = append(out, mp)
	}
	return out
}
