//go:build linux

package guestinit

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
)

// dhcp asks for an IPv4 lease on iface (raw socket, so it works before
// the interface has an address) and returns it as a static
// configuration. Leases are not renewed: the VM drivers' NAT servers
// (qemu user networking, vmnet, HNS) hand out long leases and keep them.
func dhcp(ctx context.Context, iface string) (*Static, error) {
	c, err := nclient4.New(iface, nclient4.WithTimeout(2*time.Second), nclient4.WithRetry(3))
	if err != nil {
		return nil, fmt.Errorf("dhcp on %s: %w", iface, err)
	}
	defer c.Close()
	lease, err := c.Request(ctx)
	if err != nil {
		return nil, fmt.Errorf("dhcp on %s: %w", iface, err)
	}
	ack := lease.ACK
	ip, ok := netip.AddrFromSlice(ack.YourIPAddr.To4())
	if !ok {
		return nil, fmt.Errorf("dhcp on %s: no IPv4 address in the answer", iface)
	}
	bits := 24
	if m := ack.SubnetMask(); m != nil {
		bits, _ = m.Size()
	}
	st := &Static{Addr: netip.PrefixFrom(ip, bits)}
	if rs := ack.Router(); len(rs) > 0 {
		st.Gateway, _ = netip.AddrFromSlice(rs[0].To4())
	}
	for _, d := range ack.DNS() {
		if a, ok := netip.AddrFromSlice(d.To4()); ok {
			st.DNS = append(st.DNS, a)
		}
	}
	return st, nil
}
