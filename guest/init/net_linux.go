//go:build linux

package guestinit

import (
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
)

// setupNetwork brings lo up, and eth0 with st when given. DHCP is not
// implemented yet: without a static configuration eth0 is only brought
// up (see the report in issue 6).
func setupNetwork(st *Static) error {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("lo: %w", err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return fmt.Errorf("lo up: %w", err)
	}
	eth, err := netlink.LinkByName("eth0")
	if err != nil {
		return fmt.Errorf("eth0: %w", err)
	}
	if err := netlink.LinkSetUp(eth); err != nil {
		return fmt.Errorf("eth0 up: %w", err)
	}
	if st == nil {
		return nil
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: st.Addr.Addr().AsSlice(), Mask: net.CIDRMask(st.Addr.Bits(), st.Addr.Addr().BitLen())}}
	if err := netlink.AddrReplace(eth, addr); err != nil {
		return fmt.Errorf("eth0 address %s: %w", st.Addr, err)
	}
	if st.Gateway.IsValid() {
		rt := &netlink.Route{LinkIndex: eth.Attrs().Index, Gw: st.Gateway.AsSlice()}
		if err := netlink.RouteReplace(rt); err != nil {
			return fmt.Errorf("default route via %s: %w", st.Gateway, err)
		}
	}
	var dns []string
	for _, d := range st.DNS {
		dns = append(dns, d.String())
	}
	return writeResolvConf(dns)
}
