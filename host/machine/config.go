// Package machine manages berth machines: their stored config and state dir
// (home/machines/<name>/), starting and stopping them, and the machine daemon
// that owns a machine's driver and splices CLI connections to its agent.
package machine

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/internal/errkind"

	"github.com/berth-dev/berth/host/driver/vz"
	"github.com/berth-dev/berth/host/internal/atomicfile"
)

// DefaultName is the machine the CLI uses unless told otherwise; it is
// created on first use.
const DefaultName = "default"

// Defaults for a new machine's size (used by VM drivers).
const (
	DefaultCPUs   = 2
	DefaultMemory = 2 << 30  // 2 GiB
	DefaultDisk   = 64 << 30 // 64 GiB
)

// maxNameLen keeps socket paths under the OS limit (108 bytes on Linux).
const maxNameLen = 32

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// Config is a machine's stored configuration (machine.json).
type Config struct {
	Name   string `json:"name"`
	Driver string `json:"driver"`
	// CPUs, Memory and Disk (bytes) size a VM; the native driver ignores them.
	CPUs   int   `json:"cpus"`
	Memory int64 `json:"memory"`
	Disk   int64 `json:"disk"`
	// Image is the VM image dir (berth machine init --image); empty: the
	// driver looks in its usual places.
	Image string `json:"image,omitempty"`
	// InsecureRegistries may be reached over plain HTTP.
	InsecureRegistries []string `json:"insecureRegistries,omitempty"`
	// Shares are host folders shared into the VM at the same path, beside
	// the host OS's defaults (berth machine init --share). The native
	// driver sees every host path and needs none.
	Shares []string `json:"shares,omitempty"`
	// ForwardAll also forwards the ports that processes in --network host
	// containers listen on (berth machine init --forward-all).
	ForwardAll bool `json:"forwardAll,omitempty"`
	// ForwardAddresses are the host addresses a published port without
	// an address listens on (127.0.0.1 and ::1 when empty; 0.0.0.0 and ::
	// publish on every interface). An address in -p wins.
	ForwardAddresses []string `json:"forwardAddresses,omitempty"`
	// Rosetta runs amd64 binaries through Apple's Rosetta (berth machine
	// init --rosetta; the vz driver on Apple silicon only).
	Rosetta bool      `json:"rosetta,omitempty"`
	Created time.Time `json:"created"`
}

// ValidateName checks that name can name a machine.
func ValidateName(name string) error {
	if len(name) > maxNameLen || !nameRE.MatchString(name) {
		return errkind.New(errdefs.ErrInvalidArgument, "invalid machine name %q: use 1 to %d letters, digits, '.', '_' or '-', starting with a letter or digit",
			name, maxNameLen)
	}
	return nil
}

// withDefaults fills unset sizes.
func (c Config) withDefaults() Config {
	if c.CPUs == 0 {
		c.CPUs = DefaultCPUs
	}
	if c.Memory == 0 {
		c.Memory = DefaultMemory
	}
	if c.Disk == 0 {
		c.Disk = DefaultDisk
	}
	return c
}

// Validate checks the fields that do not depend on the drivers of this build.
func (c Config) Validate() error {
	if err := ValidateName(c.Name); err != nil {
		return err
	}
	switch {
	case c.Driver == "":
		return errkind.New(errdefs.ErrInvalidArgument, "machine %q: no driver given", c.Name)
	case c.CPUs < 1:
		return errkind.New(errdefs.ErrInvalidArgument, "machine %q: cpus must be at least 1, not %d", c.Name, c.CPUs)
	case c.Memory < 128<<20:
		return errkind.New(errdefs.ErrInvalidArgument, "machine %q: memory must be at least 128MiB", c.Name)
	case c.Disk < 1<<30:
		return errkind.New(errdefs.ErrInvalidArgument, "machine %q: disk must be at least 1GiB", c.Name)
	case c.Rosetta && c.Driver != vz.Name:
		return errkind.New(errdefs.ErrInvalidArgument, "machine %q: --rosetta needs the vz driver (macOS on Apple silicon), not %s", c.Name, c.Driver)
	}
	return nil
}

const configFile = "machine.json"

func loadConfig(dir string) (Config, error) {
	var c Config
	b, err := os.ReadFile(filepath.Join(dir, configFile))
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("%s: %w", filepath.Join(dir, configFile), err)
	}
	return c, nil
}

func saveConfig(dir string, c Config) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, configFile), append(b, '\n'), 0o600)
}
