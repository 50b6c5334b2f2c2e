//go:build linux

package agent

import (
	"cmp"
	"context"
	"strings"

	"github.com/containerd/errdefs"
	ctypes "github.com/moby/moby/api/types/container"
	ntypes "github.com/moby/moby/api/types/network"

	"github.com/berth-dev/berth/guest/container"
	"github.com/berth-dev/berth/guest/network"
)

// docker's messages for --network container:X (runconfig's errors).
const (
	errSharedNetwork    = "container sharing network namespace with another container or host cannot be connected to any other network"
	errConflictHostname = "conflicting options: hostname and the network mode"
	errConflictDNS      = "conflicting options: dns and the network mode"
	errConflictHosts    = "conflicting options: custom host-to-IP mapping and the network mode"
	errConflictPublish  = "conflicting options: port publishing and the container type network mode"
	errConflictExpose   = "conflicting options: port exposing and the container type network mode"
)

// maxJoinDepth bounds container:X chains (X itself joined to another).
const maxJoinDepth = 8

// joinedID is the container whose network namespace r shares (docker's
// --network container:X, stored as container:ID), "" for other modes.
func joinedID(r *record) string {
	if r.HostConfig == nil || !r.HostConfig.NetworkMode.IsContainer() {
		return ""
	}
	return r.HostConfig.NetworkMode.ConnectedContainer()
}

// validateJoin applies docker's checks of --network container:X: the
// container has no network settings of its own.
func validateJoin(b createBodies) error {
	cfg, hc := b.cfg, b.hc
	invalid := func(msg string) error { return newKindError(errdefs.ErrInvalidArgument, "%s", msg) }
	switch {
	case hc.NetworkMode.ConnectedContainer() == "":
		return invalid("Invalid network mode: invalid container format container:<name|id>")
	case cfg.Hostname != "":
		return invalid(errConflictHostname)
	case len(hc.DNS) > 0:
		return invalid(errConflictDNS)
	case len(hc.ExtraHosts) > 0:
		return invalid(errConflictHosts)
	case len(hc.PortBindings) > 0 || hc.PublishAllPorts:
		return invalid(errConflictPublish)
	case len(cfg.ExposedPorts) > 0:
		return invalid(errConflictExpose)
	}
	for name, es := range b.nc.EndpointsConfig {
		switch {
		case name != string(hc.NetworkMode):
			return invalid(errSharedNetwork)
		case es != nil && len(es.Aliases) > 0:
			return invalid("network-scoped alias is supported only for containers in user defined networks")
		case es != nil && es.IPAMConfig != nil && (es.IPAMConfig.IPv4Address.IsValid() || es.IPAMConfig.IPv6Address.IsValid()):
			return invalid("user specified IP address is supported on user defined networks only")
		}
	}
	return nil
}

// resolveJoin is create's part of --network container:X: X must exist;
// the mode is stored with X's full id (inspect shows container:ID), and
// the new container takes X's hostname and domain name, as in docker. It
// has no networks of its own.
func (e *engine) resolveJoin(b createBodies) (map[string]*ntypes.EndpointSettings, error) {
	if err := validateJoin(b); err != nil {
		return nil, err
	}
	x, err := e.store.get(b.hc.NetworkMode.ConnectedContainer())
	if err != nil {
		return nil, err
	}
	root, err := e.joinRoot(x)
	if err != nil {
		return nil, err
	}
	b.hc.NetworkMode = ctypes.NetworkMode("container:" + x.ID)
	b.cfg.Hostname = x.Config.Hostname
	if _, host := root.Networks[network.NameHost]; !host && b.cfg.Hostname == "" {
		b.cfg.Hostname = shortID(x.ID) // X's own default; on the host network: the host's
	}
	b.cfg.Domainname = x.Config.Domainname
	return map[string]*ntypes.EndpointSettings{}, nil
}

// joinRoot follows container:X links from r to the container that owns
// the namespace (r itself when it joins none).
func (e *engine) joinRoot(r *record) (*record, error) {
	for range maxJoinDepth {
		id := joinedID(r)
		if id == "" {
			return r, nil
		}
		next, err := e.store.get(id)
		if err != nil {
			return nil, newKindError(errdefs.ErrNotFound, "cannot join the network of container %s: it shares the network of %s, which is gone", r.Name, shortID(id))
		}
		r = next
	}
	return nil, newKindError(errdefs.ErrInvalidArgument, "cannot join the network of container %s: more than %d containers share one namespace in a chain", r.Name, maxJoinDepth)
}

// joinNetwork is setupNetwork for a container sharing another's namespace:
// no namespace or endpoint of its own; the owner's namespace, its address
// in /etc/hosts under the shared hostname, and its resolv.conf.
func (e *engine) joinNetwork(r *record) (container.NetworkConfig, error) {
	x, err := e.store.get(joinedID(r))
	if err != nil {
		return container.NetworkConfig{}, err
	}
	root, err := e.joinRoot(x)
	if err != nil {
		return container.NetworkConfig{}, err
	}
	if _, host := root.Networks[network.NameHost]; host {
		return container.NetworkConfig{Mode: container.NetworkHost}, nil
	}
	nc := container.NetworkConfig{Mode: container.NetworkNetns, NetnsPath: e.netnsPath(root.ID)}
	hostname := cmp.Or(r.Config.Hostname, x.Config.Hostname, shortID(x.ID))
	for _, name := range networkOrder(root) {
		if es := root.Networks[name]; es.IPAddress.IsValid() {
			nc.HostsEntries = append(nc.HostsEntries, es.IPAddress.String()+"\t"+hostname)
		}
	}
	if nc.ResolvConf, err = e.resolvConf(root); err != nil {
		return container.NetworkConfig{}, err
	}
	return nc, nil
}

// checkJoinable is start's part of --network container:X: X must be
// running (docker's rule), and its namespace must exist.
func (e *engine) checkJoinable(ctx context.Context, r *record) error {
	x, err := e.store.get(joinedID(r))
	if err != nil {
		return err
	}
	if st := e.state(ctx, x); st.Status != container.StatusRunning && st.Status != container.StatusPaused {
		if st.Status == container.StatusRestarting {
			return newKindError(errdefs.ErrConflict, "cannot join network of container %s which is restarting", x.ID)
		}
		return newKindError(errdefs.ErrConflict, "cannot join network of a non running container: %s", x.ID)
	}
	root, err := e.joinRoot(x)
	if err != nil {
		return err
	}
	if _, host := root.Networks[network.NameHost]; !host && !isMountpoint(e.netnsPath(root.ID)) {
		return newKindError(errdefs.ErrFailedPrecondition, "cannot join network of container %s: its network namespace is gone (restart it)", strings.TrimPrefix(x.Name, "/"))
	}
	return nil
}
