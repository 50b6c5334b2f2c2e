package network

import (
	"context"
	"net/netip"
	"os"
	"slices"
	"strings"
)

// startDNS starts the embedded DNS server of a user-defined network on its
// gateway address, port 53; m.mu held. Other networks get none.
func (m *Manager) startDNS(ctx context.Context, n *Network) error {
	if m.opts.DisableDNS || !n.UserDefined() || m.dns[n.ID] != nil {
		return nil
	}
	addr := netip.AddrPortFrom(n.Gateway, 53).String()
	pc, l, err := listenDNS(ctx, m.ns, addr)
	if err != nil {
		return err
	}
	id := n.ID
	h := &dnsHandler{
		lookup:    func(name string) []netip.Addr { return m.lookup(id, name) },
		reverse:   func(a netip.Addr) string { return m.reverse(id, a) },
		upstreams: func(client netip.Addr) []string { return m.upstreams(id, client) },
	}
	m.dns[n.ID] = startDNS(h, pc, l)
	return nil
}

// lookup finds name among the endpoints of network id: container names,
// 12-digit short ids, full ids and aliases, case-insensitively, also in the
// "name.network" form.
func (m *Manager) lookup(id, name string) []netip.Addr {
	m.mu.RLock()
	defer m.mu.RUnlock()
	n := m.nets[id]
	if n == nil || name == "" {
		return nil
	}
	if short, ok := strings.CutSuffix(name, "."+strings.ToLower(n.Name)); ok && short != "" {
		name = short
	}
	var out []netip.Addr
	for _, e := range n.Endpoints {
		if e.IP.IsValid() && endpointHasName(e, name) {
			out = append(out, e.IP.Addr())
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

func endpointHasName(e *Endpoint, name string) bool {
	if strings.EqualFold(e.Name, name) || e.ContainerID == name || shortID(e.ContainerID) == name {
		return true
	}
	return slices.ContainsFunc(e.Aliases, func(a string) bool { return strings.EqualFold(a, name) })
}

// reverse returns the name of the container holding addr on network id.
func (m *Manager) reverse(id string, addr netip.Addr) string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	n := m.nets[id]
	if n == nil {
		return ""
	}
	for _, e := range n.Endpoints {
		if e.IP.Addr() == addr {
			return nameOr(e.Name, e.ContainerID) + "." + n.Name
		}
	}
	return ""
}

// upstreams returns the resolvers the other queries of client (a container
// on network id) go to: the container's own (AttachOptions.DNS, docker's
// --dns), else Options.Upstreams, else the nameservers of the host's
// resolv.conf (read on each query, so a changed file applies at once); never
// one of our own DNS addresses. Loopback resolvers are kept: forwarding
// happens from the agent process's namespace, where they are reachable.
func (m *Manager) upstreams(id string, client netip.Addr) []string {
	m.mu.RLock()
	own := map[netip.Addr]bool{}
	for _, n := range m.nets {
		if n.UserDefined() {
			own[n.Gateway] = true
		}
	}
	var list []string
	if n := m.nets[id]; n != nil {
		for _, e := range n.Endpoints {
			if e.IP.Addr() == client {
				list = e.DNS
			}
		}
	}
	m.mu.RUnlock()
	if len(list) == 0 {
		list = m.opts.Upstreams
	}
	if len(list) == 0 {
		data, err := os.ReadFile(m.opts.ResolvConfPath)
		if err != nil {
			return nil
		}
		for _, a := range parseResolvConf(data).nameservers {
			list = append(list, a.String())
		}
	}
	return upstreamAddrs(list, own)
}
