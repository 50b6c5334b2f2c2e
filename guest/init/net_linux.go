//go:build linux

package guestinit

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/vishvananda/netlink"
)

// setupNetwork brings lo up, and eth0 with st when given, else with DHCP.
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
		waitCarrier("eth0", 3*time.Second) // a DISCOVER sent earlier is lost
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		start := time.Now()
		if st, err = dhcp(ctx, "eth0"); err != nil {
			return err
		}
		logf("eth0 %s via DHCP in %s", st.Addr, time.Since(start).Round(time.Millisecond))
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

// waitCarrier waits until name reports a carrier (operstate up), or d.
func waitCarrier(name string, d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		l, err := netlink.LinkByName(name)
		if err == nil && l.Attrs().OperState == netlink.OperUp {
			return
		}
	}
}
