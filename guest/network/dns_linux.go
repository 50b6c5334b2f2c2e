package network

import (
	"context"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync/atomic"
)

// netDNS is one network's embedded DNS server and the view it answers from.
// Handlers read the view without taking the Manager's lock: a server is
// stopped (waiting for its handlers) with that lock held.
type netDNS struct {
	srv  *dnsServer
	view atomic.Pointer[dnsView]
}

// dnsView is an immutable snapshot of a network's names.
type dnsView struct {
	network   string                  // lower-case network name
	names     map[string][]netip.Addr // name, id, short id, alias → addresses
	reverse   map[netip.Addr]string   // address → "name.network"
	resolvers map[netip.Addr][]string // container address → its own resolvers
}

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
	d := &netDNS{}
	d.view.Store(m.buildView(n))
	h := &dnsHandler{
		lookup:    func(name string) []netip.Addr { return d.view.Load().lookup(name) },
		reverse:   func(a netip.Addr) string { return d.view.Load().reverse[a] },
		upstreams: func(client netip.Addr) []string { return m.upstreams(d.view.Load(), client) },
	}
	d.srv = startDNS(h, pc, l)
	m.dns[n.ID] = d
	m.refreshOwnDNS()
	return nil
}

// refreshDNS publishes n's current endpoints to its DNS server; m.mu held.
func (m *Manager) refreshDNS(n *Network) {
	if d := m.dns[n.ID]; d != nil {
		d.view.Store(m.buildView(n))
	}
}

// buildView indexes n's endpoints; m.mu held.
func (m *Manager) buildView(n *Network) *dnsView {
	v := &dnsView{
		network: strings.ToLower(n.Name), names: map[string][]netip.Addr{},
		reverse: map[netip.Addr]string{}, resolvers: map[netip.Addr][]string{},
	}
	for _, e := range n.Endpoints {
		if !e.IP.IsValid() {
			continue
		}
		a := e.IP.Addr()
		keys := append([]string{strings.ToLower(e.Name), e.ContainerID, shortID(e.ContainerID)}, e.Aliases...)
		seen := map[string]bool{"": true}
		for _, k := range keys {
			if k = strings.ToLower(k); !seen[k] {
				seen[k] = true
				v.names[k] = append(v.names[k], a)
			}
		}
		v.reverse[a] = nameOr(e.Name, e.ContainerID) + "." + n.Name
		if len(e.DNS) > 0 {
			v.resolvers[a] = e.DNS
		}
	}
	for _, addrs := range v.names {
		slices.SortFunc(addrs, netip.Addr.Compare)
	}
	return v
}

// lookup finds a container name, id, short id or alias (name is lower case),
// also in the "name.network" form.
func (v *dnsView) lookup(name string) []netip.Addr {
	if addrs := v.names[name]; len(addrs) > 0 {
		return addrs
	}
	if short, ok := strings.CutSuffix(name, "."+v.network); ok {
		return v.names[short]
	}
	return nil
}

// upstreams returns the resolvers the other queries of client go to: the
// container's own (AttachOptions.DNS, docker's --dns), else
// Options.Upstreams, else the nameservers of the host's resolv.conf (read
// on each query, so a changed file applies at once); never one of our own
// DNS addresses. Loopback resolvers are kept: forwarding happens from the
// agent process's namespace, where they are reachable.
func (m *Manager) upstreams(v *dnsView, client netip.Addr) []string {
	list := v.resolvers[client]
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
	var own map[netip.Addr]bool
	if p := m.ownDNS.Load(); p != nil {
		own = *p
	}
	return upstreamAddrs(list, own)
}

// refreshOwnDNS records the addresses of every embedded DNS server, which
// forwarding must never go to (it would loop); m.mu held.
func (m *Manager) refreshOwnDNS() {
	own := map[netip.Addr]bool{}
	for _, n := range m.nets {
		if n.UserDefined() {
			own[n.Gateway] = true
		}
	}
	m.ownDNS.Store(&own)
}
