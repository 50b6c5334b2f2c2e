package native

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/log"

	"github.com/berth-dev/berth/host/internal/atomicfile"
)

// networkRegistry lists the native machines that made a bridge and an
// nftables table on this host: one file per network id holding the machine
// dir. It lives on /run, which goes with a reboot as the bridges do.
var networkRegistry = "/run/berth/native-networks"

// registerNetwork records that the machine in dir owns berth-<id>.
func registerNetwork(id, dir string) error {
	if err := os.MkdirAll(networkRegistry, 0o700); err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(networkRegistry, id), []byte(filepath.Clean(dir)+"\n"), 0o600)
}

// scrubNetworks removes the bridges and tables of native machines whose
// dir is gone (deleted without `machine rm`, e.g. a test's temp home), so
// that they neither pile up nor use up the address pools.
func scrubNetworks(ctx context.Context) {
	ents, err := os.ReadDir(networkRegistry)
	if err != nil {
		return
	}
	for _, e := range ents {
		p := filepath.Join(networkRegistry, e.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		dir := strings.TrimSpace(string(b))
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err := removeHostNetwork(e.Name()); err != nil {
			log.G(ctx).WithError(err).Warn("removing the network of a deleted machine")
			continue
		}
		log.G(ctx).WithField("dir", dir).Info("removed the bridge and nftables table of a deleted machine")
		os.Remove(p)
	}
}
