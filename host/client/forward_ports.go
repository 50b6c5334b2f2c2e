package client

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"

	"github.com/berth-dev/berth/host/forward"
	"github.com/berth-dev/berth/host/internal/errkind"
	"github.com/berth-dev/berth/host/machine"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// startContainer starts container ref so that its published ports are
// forwarded before it returns, as docker's start does: a host port in use
// fails before the container starts (it stays created), and a forward the
// machine daemon cannot set up after the start stops the container again.
// Both fail with docker's "driver failed programming external
// connectivity" message. Agent errors are returned as the agent sent them.
func (c *cli) startContainer(ctx context.Context, a *agentConn, ref string) error {
	info, err := c.inspectContainer(ctx, a, ref)
	if err != nil {
		return err
	}
	bs, err := publishedBindings(info)
	if err != nil {
		return fromAgent(err)
	}
	running := info.State != nil && info.State.Running
	if len(bs) > 0 && !running {
		var opts []forward.Option
		if a.machine != nil {
			if addrs, err := a.machine.Config.DefaultForwardAddrs(); err == nil {
				opts = append(opts, forward.WithDefaultAddrs(addrs...))
			}
		}
		if err := forward.Probe(ctx, bs, opts...); err != nil {
			return portError(info, err)
		}
	}
	if _, err := a.Containers.Start(ctx, &agentv1.ContainerRequest{Id: info.ID}); err != nil {
		return err
	}
	if len(bs) == 0 || a.dial == nil {
		return nil
	}
	_, err = machine.SyncForwards(ctx, a.dial, info.ID)
	switch {
	case err == nil:
		return nil
	case errdefs.IsUnavailable(err):
		// A daemon without the control channel still follows the
		// agent's events; the forwards come a moment later.
		log.G(ctx).WithError(err).Debug("port forwards not synchronised")
		return nil
	}
	t := int32(0)
	if _, serr := a.Containers.Stop(context.WithoutCancel(ctx), &agentv1.StopContainerRequest{Id: info.ID, Timeout: &t}); serr != nil {
		log.G(ctx).WithError(serr).Warn("stopping a container whose ports cannot be published")
	}
	return portError(info, err)
}

// publishedBindings is what a container publishes on the host: its -p
// bindings and, with -P, its exposed ports; nothing for --network host,
// where docker discards them.
func publishedBindings(info *container.InspectResponse) ([]forward.Binding, error) {
	if info.HostConfig == nil || info.HostConfig.NetworkMode.IsHost() {
		return nil, nil
	}
	var exposed network.PortSet
	if info.Config != nil {
		exposed = info.Config.ExposedPorts
	}
	return forward.ContainerBindings(exposed, info.HostConfig.PortBindings, info.HostConfig.PublishAllPorts)
}

// portError is docker's error for a port that cannot be published.
func portError(info *container.InspectResponse, err error) error {
	name := info.Name
	if len(name) > 0 && name[0] == '/' {
		name = name[1:]
	}
	var kind error = errdefs.ErrUnknown
	if errdefs.IsConflict(err) {
		kind = errdefs.ErrConflict
	}
	return &daemonError{err: errkind.New(kind, "driver failed programming external connectivity on endpoint %s (%s): %v", name, info.ID, err)}
}

// machineForwards returns the machine daemon's forwards by container id.
// ok is false when the daemon cannot tell (then callers show what the
// agent reported).
func (c *cli) machineForwards(ctx context.Context, a *agentConn) (map[string][]forward.Forward, bool) {
	if a.dial == nil {
		return nil, false
	}
	fws, err := machine.ListForwards(ctx, a.dial)
	if err != nil {
		log.G(ctx).WithError(err).Debug("listing port forwards")
		return nil, false
	}
	out := map[string][]forward.Forward{}
	for _, f := range fws {
		out[f.ContainerID] = append(out[f.ContainerID], f)
	}
	return out, true
}

// forwardedPortMap is docker's NetworkSettings.Ports of a container with
// the real host addresses: while it runs, every exposed port (nil when not
// published) and each forward; none once it stopped.
func forwardedPortMap(ports network.PortMap, running bool, fws []forward.Forward) network.PortMap {
	out := network.PortMap{}
	if !running {
		return out
	}
	for p, bs := range ports {
		if len(bs) == 0 {
			out[p] = nil
		}
	}
	for p, bs := range forward.ForwardsPortMap(fws) {
		out[p] = bs
	}
	return out
}

// forwardedSummaryPorts is a ps summary's ports with the real host
// addresses: the exposed-only ports as the agent listed them, then one
// entry per forward (none for a container that is not running).
func forwardedSummaryPorts(ports []*agentv1.PortBinding, fws []forward.Forward) []*agentv1.PortBinding {
	var out []*agentv1.PortBinding
	published := map[string]bool{}
	for _, f := range fws {
		published[f.Proto+"/"+strconv.Itoa(int(f.ContainerPort))] = true
	}
	for _, p := range ports {
		exposedOnly := p.HostPort == 0 && (p.HostIp == "" || p.HostIp == "invalid IP")
		if exposedOnly && !published[p.Proto+"/"+strconv.FormatUint(uint64(p.ContainerPort), 10)] {
			out = append(out, &agentv1.PortBinding{ContainerPort: p.ContainerPort, Proto: p.Proto})
		}
	}
	for _, f := range fws {
		out = append(out, &agentv1.PortBinding{HostIp: f.HostIP.String(), HostPort: uint32(f.HostPort),
			ContainerPort: uint32(f.ContainerPort), Proto: f.Proto})
	}
	return out
}

// withForwardedSummaries puts the real host addresses of the machine's
// forwards into ps summaries; without an answer from the daemon the
// summaries stay as the agent sent them.
func (c *cli) withForwardedSummaries(ctx context.Context, a *agentConn, cts []*agentv1.ContainerSummary) {
	if !mayHaveForwards(a, cts) { // no published port: no need to ask the daemon
		return
	}
	m, ok := c.machineForwards(ctx, a)
	if !ok {
		return
	}
	for _, ct := range cts {
		ct.Ports = forwardedSummaryPorts(ct.Ports, m[ct.Id])
	}
}

// forwardedPorts is info's NetworkSettings.Ports with the real host
// addresses of its forwards (see forwardedPortMap).
func (c *cli) forwardedPorts(ctx context.Context, a *agentConn, info *container.InspectResponse) network.PortMap {
	var ports network.PortMap
	if info.NetworkSettings != nil {
		ports = info.NetworkSettings.Ports
	}
	m, ok := c.machineForwards(ctx, a)
	if !ok {
		return ports
	}
	running := info.State != nil && info.State.Running
	return forwardedPortMap(ports, running, m[info.ID])
}

// withForwardedInspect rewrites NetworkSettings.Ports of a container's
// inspect document with the real host addresses. The agent marshals the
// same docker type, so decoding and encoding it again keeps every field and
// docker's field order. Documents it cannot read are returned unchanged.
func (c *cli) withForwardedInspect(ctx context.Context, a *agentConn, raw []byte) []byte {
	var info container.InspectResponse
	if err := json.Unmarshal(raw, &info); err != nil || info.NetworkSettings == nil {
		return raw
	}
	m, ok := c.machineForwards(ctx, a)
	if !ok {
		return raw
	}
	info.NetworkSettings.Ports = forwardedPortMap(info.NetworkSettings.Ports, info.State != nil && info.State.Running, m[info.ID])
	out, err := json.Marshal(&info)
	if err != nil {
		log.G(ctx).WithError(err).Debug("inspect ports")
		return raw
	}
	return out
}

// syncForwards has the machine daemon bring the forwards of container ref
// in line with it now, after a stop, kill or restart, so that they are
// gone (or back) when the command returns, as with docker. A failure only
// delays that: the daemon follows the agent's events as well.
func (c *cli) syncForwards(ctx context.Context, a *agentConn, ref string) {
	if a.dial == nil {
		return
	}
	if _, err := machine.SyncForwards(ctx, a.dial, ref); err != nil {
		log.G(ctx).WithError(err).Debugf("port forwards of %s", ref)
	}
}

// mayHaveForwards says whether the daemon may forward a port of one of cts:
// one publishes a port (the agent lists only published ones), or the
// machine forwards what --network host containers listen on.
func mayHaveForwards(a *agentConn, cts []*agentv1.ContainerSummary) bool {
	if a.machine == nil || a.machine.Config.ForwardAll {
		return true
	}
	for _, ct := range cts {
		if len(ct.Ports) > 0 {
			return true
		}
	}
	return false
}
