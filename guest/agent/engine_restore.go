//go:build linux

package agent

import (
	"context"
	"os"
	"path/filepath"

	"github.com/containerd/log"

	"github.com/berth-dev/berth/guest/container"
	"github.com/berth-dev/berth/guest/network"
)

// restoreNetworks runs before the runtime re-adopts containers: after a
// machine restart the containers' network namespaces are gone, so each
// container that should have one gets it back, attached to its networks,
// with fresh hosts and resolv.conf files, before its restart policy starts
// it again. Namespaces that still exist (an agent restart) are left alone.
func (e *engine) restoreNetworks(ctx context.Context, recs []*record) {
	for _, r := range recs {
		if _, host := r.Networks[network.NameHost]; host || joinedID(r) != "" || isMountpoint(e.netnsPath(r.ID)) {
			continue
		}
		dir := filepath.Join(e.dataDir, "containers", r.ID)
		if _, err := os.Stat(dir); err != nil {
			continue // no runtime state: nothing will run
		}
		if keepLiveNetns(dir, e.netnsPath(r.ID)) {
			continue // still running in it: an agent restart
		}
		if err := e.rebuildNetwork(ctx, r, dir); err != nil {
			log.G(ctx).WithError(err).WithField("container", r.Name).Warn("restore container network")
		}
	}
}

// rebuildNetwork re-creates a container's namespace and endpoints and
// rewrites its network files in the runtime's state dir.
func (e *engine) rebuildNetwork(ctx context.Context, r *record, dir string) error {
	e.teardownNetwork(ctx, r)
	nc, err := e.setupNetwork(ctx, r)
	if err != nil {
		return err
	}
	hosts, err := container.HostsFile(r.HostConfig.ExtraHosts, nc.HostsEntries)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, "hosts"), []byte(hosts)); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, "resolv.conf"), nc.ResolvConf); err != nil {
		return err
	}
	_, err = e.store.update(r.ID, func(cur *record) error { cur.Networks = r.Networks; return nil })
	return err
}

// dropOrphans deletes runtime containers without a record (an agent that
// died between creating one and storing its record).
func (e *engine) dropOrphans(ctx context.Context, recs []*record) {
	known := map[string]bool{}
	for _, r := range recs {
		known[r.ID] = true
	}
	for _, c := range e.rt.List() {
		if known[c.ID()] {
			continue
		}
		log.G(ctx).WithField("container", c.ID()).Info("removing container without a record")
		if err := c.Delete(ctx, true); err != nil {
			log.G(ctx).WithError(err).Warn("remove orphaned container")
		}
		_ = removeNetns(e.netnsPath(c.ID()))
	}
}
