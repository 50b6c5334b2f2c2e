//go:build linux

package agent

import (
	"context"
	"net/netip"

	"github.com/containerd/errdefs"
	ntypes "github.com/moby/moby/api/types/network"

	"github.com/berth-dev/berth/guest/network"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// connect adds a container to a network (docker network connect). Like
// docker, a running container gets its interface at once; a stopped one
// is attached too (its namespace outlives its process).
func (e *engine) connect(ctx context.Context, req *agentv1.ConnectNetworkRequest) error {
	r, err := e.store.get(req.Container)
	if err != nil {
		return err
	}
	defer e.lock(r.ID)()
	n, err := e.nets.Inspect(ctx, req.Network)
	if err != nil {
		return err
	}
	if joinedID(r) != "" {
		return newKindError(errdefs.ErrInvalidArgument, "%s", errSharedNetwork)
	}
	if _, ok := r.Networks[n.Name]; ok {
		return newKindError(errdefs.ErrConflict, "endpoint with name %s already exists in network %s", r.Name, n.Name)
	}
	if _, host := r.Networks[network.NameHost]; host || n.Name == network.NameHost || n.Name == network.NameNone {
		return newKindError(errdefs.ErrInvalidArgument, "container cannot be disconnected from host network or connected to host network")
	}
	es := &ntypes.EndpointSettings{NetworkID: n.ID, Aliases: req.Aliases}
	if req.Ipv4Address != "" {
		a, err := netip.ParseAddr(req.Ipv4Address)
		if err != nil {
			return newKindError(errdefs.ErrInvalidArgument, "invalid IPv4 address: %s", req.Ipv4Address)
		}
		es.IPAMConfig = &ntypes.EndpointIPAMConfig{IPv4Address: a}
	}
	r.Networks[n.Name] = es
	if err := newNetns(e.netnsPath(r.ID)); err != nil {
		return err
	}
	if err := e.attachOne(ctx, r, n.Name, e.netnsPath(r.ID)); err != nil {
		return err
	}
	_, err = e.store.update(r.ID, func(cur *record) error { cur.Networks[n.Name] = es; return nil })
	if err == nil {
		e.events.publish("network", "connect", n.ID, map[string]string{"container": r.ID, "name": n.Name, "type": n.Driver})
	}
	return err
}

// disconnect removes a container from a network.
func (e *engine) disconnect(ctx context.Context, netRef, ref string, force bool) error {
	r, err := e.store.get(ref)
	if err != nil {
		return err
	}
	defer e.lock(r.ID)()
	n, err := e.nets.Inspect(ctx, netRef)
	if err != nil {
		return err
	}
	es, ok := r.Networks[n.Name]
	if !ok {
		return newKindError(errdefs.ErrNotFound, "container %s is not connected to network %s", r.ID, n.Name)
	}
	if n.Name == network.NameHost {
		return newKindError(errdefs.ErrInvalidArgument, "container cannot be disconnected from host network or connected to host network")
	}
	if err := e.nets.Detach(ctx, es.NetworkID, r.ID); err != nil && !errdefs.IsNotFound(err) {
		return err
	}
	_, err = e.store.update(r.ID, func(cur *record) error { delete(cur.Networks, n.Name); return nil })
	if err == nil {
		e.events.publish("network", "disconnect", n.ID, map[string]string{"container": r.ID, "name": n.Name, "type": n.Driver})
	}
	return err
}
