package client

import (
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"

	units "github.com/docker/go-units"
	"github.com/moby/moby/api/types/mount"
)

// mountList is --mount type=...,source=...,target=... (docker's MountOpt).
type mountList struct{ values []mount.Mount }

func (m *mountList) Type() string { return "mount" }
func (m *mountList) String() string {
	s := make([]string, len(m.values))
	for i, v := range m.values {
		s[i] = fmt.Sprintf("%s:%s:%s", v.Type, v.Source, v.Target)
	}
	return strings.Join(s, ", ")
}

func (m *mountList) Set(value string) error {
	value = strings.TrimSpace(value)
	if value == "" {
		return errors.New("value is empty")
	}
	fields, err := csv.NewReader(strings.NewReader(value)).Read()
	if err != nil {
		return err
	}
	mt := mount.Mount{Type: mount.TypeVolume}
	for _, field := range fields {
		if err := setMountField(&mt, field); err != nil {
			return err
		}
	}
	if mt.Target == "" {
		return errors.New("target is required")
	}
	if mt.Type == mount.TypeBind && mt.Source == "" {
		return errors.New("source is required when specifying bind mount")
	}
	if mt.VolumeOptions != nil && mt.Type != mount.TypeVolume {
		return fmt.Errorf("cannot mix 'volume-*' options with mount type '%s'", mt.Type)
	}
	if mt.TmpfsOptions != nil && mt.Type != mount.TypeTmpfs {
		return fmt.Errorf("cannot mix 'tmpfs-*' options with mount type '%s'", mt.Type)
	}
	if mt.BindOptions != nil && mt.Type != mount.TypeBind {
		return fmt.Errorf("cannot mix 'bind-*' options with mount type '%s'", mt.Type)
	}
	m.values = append(m.values, mt)
	return nil
}

func setMountField(mt *mount.Mount, field string) error {
	key, val, hasValue := strings.Cut(field, "=")
	key = strings.ToLower(strings.TrimSpace(key))
	if !hasValue {
		switch key {
		case "readonly", "ro", "volume-nocopy", "bind-create-src":
		default:
			return fmt.Errorf("invalid field '%s' must be a key=value pair", field)
		}
	} else if strings.TrimSpace(val) == "" {
		return fmt.Errorf("invalid value for '%s': value is empty", key)
	}
	boolVal := func() (bool, error) {
		if !hasValue {
			return true, nil
		}
		b, err := strconv.ParseBool(val)
		if err != nil {
			return false, fmt.Errorf("invalid value for %s: %s", key, val)
		}
		return b, nil
	}
	var err error
	switch key {
	case "type":
		mt.Type = mount.Type(strings.ToLower(val))
		switch mt.Type {
		case mount.TypeBind, mount.TypeVolume, mount.TypeTmpfs:
		default:
			return fmt.Errorf("invalid mount type %q: use bind, volume or tmpfs", val)
		}
	case "source", "src":
		mt.Source = val // relative paths are resolved with the bind resolver
	case "target", "dst", "destination":
		mt.Target = val
	case "readonly", "ro":
		mt.ReadOnly, err = boolVal()
	case "consistency":
		mt.Consistency = mount.Consistency(strings.ToLower(val))
	case "bind-propagation":
		bindOpts(mt).Propagation = mount.Propagation(strings.ToLower(val))
	case "bind-create-src":
		bindOpts(mt).CreateMountpoint, err = boolVal()
	case "volume-nocopy":
		volOpts(mt).NoCopy, err = boolVal()
	case "volume-subpath":
		volOpts(mt).Subpath = val
	case "volume-label":
		o := volOpts(mt)
		o.Labels = setKV(o.Labels, val)
	case "volume-driver":
		volDriver(mt).Name = val
	case "volume-opt":
		d := volDriver(mt)
		d.Options = setKV(d.Options, val)
	case "tmpfs-size":
		n, perr := units.RAMInBytes(val)
		if perr != nil {
			return fmt.Errorf("invalid value for %s: %s", key, val)
		}
		tmpfsOpts(mt).SizeBytes = n
	case "tmpfs-mode":
		n, perr := strconv.ParseUint(val, 8, 32)
		if perr != nil {
			return fmt.Errorf("invalid value for %s: %s", key, val)
		}
		tmpfsOpts(mt).Mode = os.FileMode(n)
	default:
		return fmt.Errorf("unknown option '%s' in '%s'", key, field)
	}
	return err
}

func bindOpts(m *mount.Mount) *mount.BindOptions {
	if m.BindOptions == nil {
		m.BindOptions = &mount.BindOptions{}
	}
	return m.BindOptions
}

func volOpts(m *mount.Mount) *mount.VolumeOptions {
	if m.VolumeOptions == nil {
		m.VolumeOptions = &mount.VolumeOptions{}
	}
	return m.VolumeOptions
}

func volDriver(m *mount.Mount) *mount.Driver {
	o := volOpts(m)
	if o.DriverConfig == nil {
		o.DriverConfig = &mount.Driver{}
	}
	return o.DriverConfig
}

func tmpfsOpts(m *mount.Mount) *mount.TmpfsOptions {
	if m.TmpfsOptions == nil {
		m.TmpfsOptions = &mount.TmpfsOptions{}
	}
	return m.TmpfsOptions
}

func setKV(m map[string]string, kv string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	k, v, _ := strings.Cut(kv, "=")
	m[k] = v
	return m
}

// driveLetter matches a Windows host path at the start of a -v spec.
// Compiled on first use: package-level regexps cost every command.
var driveLetter = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z]:[\\/]`) })
