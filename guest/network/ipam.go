package network

import (
	"net"
	"net/netip"

	"github.com/containerd/errdefs"
)

// DefaultAddressPools returns docker's default local address pools:
// 172.17.0.0/16 … 172.31.0.0/16, then 192.168.0.0/20 … 192.168.240.0/20.
func DefaultAddressPools() []netip.Prefix {
	var pools []netip.Prefix
	for b := 17; b <= 31; b++ {
		pools = append(pools, netip.PrefixFrom(netip.AddrFrom4([4]byte{172, byte(b), 0, 0}), 16))
	}
	for c := 0; c < 256; c += 16 {
		pools = append(pools, netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 168, byte(c), 0}), 20))
	}
	return pools
}

// pickSubnet returns the first pool that overlaps none of used.
func pickSubnet(pools, used []netip.Prefix) (netip.Prefix, error) {
	for _, p := range pools {
		if !overlapsAny(p, used) {
			return p, nil
		}
	}
	return netip.Prefix{}, newError(errdefs.ErrUnavailable,
		"could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network")
}

func overlapsAny(p netip.Prefix, list []netip.Prefix) bool {
	for _, q := range list {
		if q.IsValid() && p.Overlaps(q) {
			return true
		}
	}
	return false
}

// ipamConfig validates the subnet/gateway/ip-range of opts. When no subnet is
// given, auto returns one.
func ipamConfig(opts CreateOptions, auto func() (netip.Prefix, error)) (subnet netip.Prefix, gw netip.Addr, rng netip.Prefix, err error) {
	if opts.Subnet == "" {
		if opts.Gateway != "" || opts.IPRange != "" {
			return subnet, gw, rng, invalid("invalid network config: a gateway or an ip range needs a subnet (--subnet)")
		}
		if subnet, err = auto(); err != nil {
			return subnet, gw, rng, err
		}
		return subnet, subnet.Addr().Next(), rng, nil
	}
	if subnet, err = parseV4Prefix("subnet", opts.Subnet); err != nil {
		return subnet, gw, rng, err
	}
	if subnet.Bits() > 30 {
		return subnet, gw, rng, invalid("invalid subnet %s: too small, the prefix length must be at most 30", subnet)
	}
	gw = subnet.Addr().Next()
	if opts.Gateway != "" {
		if gw, err = netip.ParseAddr(opts.Gateway); err != nil || !usable(subnet, gw) {
			return subnet, gw, rng, invalid("invalid gateway %q: it must be a host address in subnet %s", opts.Gateway, subnet)
		}
	}
	if opts.IPRange != "" {
		if rng, err = parseV4Prefix("ip range", opts.IPRange); err != nil {
			return subnet, gw, rng, err
		}
		if !subnet.Contains(rng.Addr()) || rng.Bits() < subnet.Bits() {
			return subnet, gw, rng, invalid("invalid ip range %s: it is not inside subnet %s", rng, subnet)
		}
	}
	return subnet, gw, rng, nil
}

func parseV4Prefix(what, s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return p, invalid("invalid %s %q: expected CIDR notation such as 10.1.0.0/16", what, s)
	}
	if !p.Addr().Is4() {
		return p, invalid("invalid %s %s: only IPv4 is supported", what, s)
	}
	if p.Masked() != p {
		return p, invalid("invalid %s %s: host bits are set (did you mean %s?)", what, s, p.Masked())
	}
	return p, nil
}

// broadcast returns the last address of p.
func broadcast(p netip.Prefix) netip.Addr {
	a := p.Addr().As4()
	hostBits := 32 - p.Bits()
	for i := 3; i >= 0 && hostBits > 0; i-- {
		n := min(hostBits, 8)
		a[i] |= byte(1<<n - 1)
		hostBits -= n
	}
	return netip.AddrFrom4(a)
}

// usable reports whether a is a host address of subnet (neither the network
// nor the broadcast address).
func usable(subnet netip.Prefix, a netip.Addr) bool {
	return a.Is4() && subnet.Contains(a) && a != subnet.Addr() && a != broadcast(subnet)
}

// allocate picks an address for a new endpoint of n: want when valid (and
// free), else the lowest free address of the ip range (or subnet). Addresses
// in busy (still held by an interface being deleted) count as used.
func allocate(n *Network, want netip.Addr, busy map[netip.Addr]bool) (netip.Addr, error) {
	used := map[netip.Addr]bool{n.Gateway: true}
	for a := range busy {
		used[a] = true
	}
	for _, e := range n.Endpoints {
		used[e.IP.Addr()] = true
	}
	if want.IsValid() {
		if !usable(n.Subnet, want) || want == n.Gateway {
			return want, invalid("no configured subnet or ip-range contain the IP address %s", want)
		}
		if used[want] {
			return want, newError(errdefs.ErrConflict, "address %s is already in use on network %s", want, n.Name)
		}
		return want, nil
	}
	pool := n.Subnet
	if n.IPRange.IsValid() {
		pool = n.IPRange
	}
	last := broadcast(pool)
	for a := pool.Addr(); a.IsValid() && a.Compare(last) <= 0; a = a.Next() {
		if usable(n.Subnet, a) && !used[a] {
			return a, nil
		}
	}
	return netip.Addr{}, newError(errdefs.ErrUnavailable,
		"no available IPv4 addresses on network %s (%s)", n.Name, pool)
}

// macFromIP is docker's MAC scheme: 02:42 followed by the IPv4 bytes.
func macFromIP(a netip.Addr) net.HardwareAddr {
	b := a.As4()
	return net.HardwareAddr{0x02, 0x42, b[0], b[1], b[2], b[3]}
}

func parseMAC(s string) (net.HardwareAddr, error) {
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		return nil, invalid("invalid MAC address %q: expected six bytes such as 02:42:ac:11:00:02", s)
	}
	if hw[0]&1 == 1 {
		return nil, invalid("invalid MAC address %s: it is a multicast address", s)
	}
	return hw, nil
}
