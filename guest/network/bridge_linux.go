package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ensureBridge makes n's bridge exist, carry the gateway address and be up.
// An existing bridge is reused as it is (its ports, the veths of running
// containers, stay attached); m.mu held.
func (m *Manager) ensureBridge(n *Network) error {
	link, err := m.nl.LinkByName(n.Bridge)
	switch {
	case isNotFound(err):
		link, err = m.createBridge(n)
		if err != nil {
			return err
		}
	case err != nil:
		return fmt.Errorf("network %s: look up bridge %s: %w", n.Name, n.Bridge, err)
	case link.Type() != "bridge":
		return invalid("network %s: interface %s exists and is not a bridge; remove it or choose another bridge name", n.Name, n.Bridge)
	}
	if err := m.ensureGatewayAddr(n, link); err != nil {
		return err
	}
	if err := m.nl.LinkSetUp(link); err != nil {
		return fmt.Errorf("network %s: set bridge %s up: %w", n.Name, n.Bridge, err)
	}
	m.brIndex[n.ID] = link.Attrs().Index
	return nil
}

func (m *Manager) createBridge(n *Network) (netlink.Link, error) {
	attrs := netlink.NewLinkAttrs()
	attrs.Name = n.Bridge
	attrs.MTU = n.MTU
	// A fixed MAC keeps the bridge's address from changing as ports come
	// and go (which would invalidate the containers' ARP caches).
	attrs.HardwareAddr = macFromIP(n.Gateway)
	br := &netlink.Bridge{LinkAttrs: attrs}
	if err := m.nl.LinkAdd(br); err != nil {
		return nil, fmt.Errorf("network %s: create bridge %s: %w", n.Name, n.Bridge, err)
	}
	return br, nil
}

func (m *Manager) ensureGatewayAddr(n *Network, link netlink.Link) error {
	want := netip.PrefixFrom(n.Gateway, n.Subnet.Bits())
	addrs, err := m.nl.AddrList(link, unix.AF_INET)
	if err != nil {
		return fmt.Errorf("network %s: list addresses of %s: %w", n.Name, n.Bridge, err)
	}
	for _, a := range addrs {
		if p, ok := prefixOf(a.IPNet); ok && p == want {
			return nil
		}
	}
	addr := &netlink.Addr{IPNet: ipNet(want)}
	if err := m.nl.AddrAdd(link, addr); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("network %s: add %s to bridge %s: %w", n.Name, want, n.Bridge, err)
	}
	return nil
}

// deleteBridge removes n's bridge; failures are logged, not returned, as the
// network is gone from the store already.
func (m *Manager) deleteBridge(ctx context.Context, n *Network) {
	if n.Bridge == "" {
		return
	}
	if err := delLink(m.nl, n.Bridge); err != nil {
		logger(ctx).WithError(err).WithField("bridge", n.Bridge).Warn("could not delete bridge")
	}
}

// hostPrefixes lists the IPv4 routes and addresses of the namespace except
// the default route and loopback, for subnet selection. Those on our own
// bridges count too: a bridge can carry a stale address (berth0 keeping the
// subnet of an earlier run whose database is gone), and the subnets our
// networks hold are excluded anyway.
func (m *Manager) hostPrefixes() ([]netip.Prefix, error) {
	routes, err := m.nl.RouteListFiltered(unix.AF_INET, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	var out []netip.Prefix
	for _, r := range routes {
		if p, ok := prefixOf(r.Dst); ok && p.Bits() > 0 && !p.Addr().IsLoopback() {
			out = append(out, p.Masked())
		}
	}
	addrs, err := m.nl.AddrList(nil, unix.AF_INET)
	if err != nil {
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	for _, a := range addrs {
		if p, ok := prefixOf(a.IPNet); ok && !p.Addr().IsLoopback() {
			out = append(out, p.Masked())
		}
	}
	return out, nil
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones), true
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// delLink deletes the interface called name; one that is not there (any
// more: a namespace being destroyed takes its veths along) is no error.
func delLink(h *netlink.Handle, name string) error {
	link, err := h.LinkByName(name)
	if err != nil {
		if isNotFound(err) {
			return nil
		}
		return err
	}
	if err := h.LinkDel(link); err != nil && !isNotFound(err) {
		return err
	}
	return nil
}

func isNotFound(err error) bool {
	var lnf netlink.LinkNotFoundError
	return errors.As(err, &lnf) || errors.Is(err, unix.ENODEV)
}
