package client

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/berth-dev/berth/host/machine"
	"github.com/berth-dev/berth/host/share"
)

// shareFlags checks the --share folders of `machine init`: each must be an
// existing directory; they are stored absolute with symlinks resolved, as
// the bind resolver compares real paths.
func shareFlags(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("invalid --share %q: %w", p, err)
		}
		real, err := filepath.EvalSymlinks(abs)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("invalid --share %q: %s does not exist", p, abs)
		}
		if err != nil {
			return nil, fmt.Errorf("invalid --share %q: %w", p, err)
		}
		st, err := os.Stat(real)
		if err != nil {
			return nil, fmt.Errorf("invalid --share %q: %w", p, err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("invalid --share %q: %s is not a directory", p, abs)
		}
		out = append(out, real)
	}
	return out, nil
}

// machineShares are the folders a machine shares: the host OS's defaults
// plus the machine's --share folders, each at the same path in the VM. Nil
// (the resolver's defaults) when the machine adds none.
func machineShares(cfg machine.Config, goos, home string) []share.Share {
	if len(cfg.Shares) == 0 {
		return nil
	}
	shares := share.DefaultShares(goos, home)
	for _, p := range cfg.Shares {
		vm := filepath.ToSlash(p)
		if goos == share.Windows {
			continue // drives are all shared already
		}
		shares = append(shares, share.Share{HostPath: p, VMPath: vm})
	}
	return shares
}

// withMachineShares sets res.Shares from the selected machine's config.
// A machine that does not exist yet has the defaults.
func (c *cli) withMachineShares(res *share.Resolver) {
	m, err := c.machines().Get(c.machine)
	if err != nil {
		return
	}
	home, _ := os.UserHomeDir()
	res.Shares = machineShares(m.Config, runtime.GOOS, home)
}
