//go:build linux

package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// containerNet is a stand-in for a container's network: a network
// namespace joined to a bridge on the host by a veth pair, as the agent
// sets one up on berth0, so that "direct" traffic goes to a container
// address over the same bridge and veth as the relayed traffic does.
type containerNet struct {
	ns     netns.NsHandle
	bridge netlink.Link
	veth   netlink.Link
	addr   net.IP // the "container" address
}

// benchSubnet is the bridge network (host .1, container .2); it must not be
// in use on the machine.
const benchSubnet = "10.254.%d.%d/24"

// newContainerNet creates the namespace, bridge and veth pair. It needs
// root (CAP_NET_ADMIN).
func newContainerNet() (cn *containerNet, err error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("-target container needs root (a network namespace, a bridge and a veth pair); use -target loopback otherwise")
	}
	octet := 100 + os.Getpid()%150
	name := fmt.Sprintf("bfb%d", os.Getpid()%100000)
	cn = &containerNet{addr: net.IPv4(10, 254, byte(octet), 2)}
	defer func() {
		if err != nil {
			cn.Close()
		}
	}()
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}
	if err := netlink.LinkAdd(br); err != nil {
		return cn, fmt.Errorf("bridge %s: %w", name, err)
	}
	cn.bridge = br
	if err := addAddrUp(br, fmt.Sprintf(benchSubnet, octet, 1)); err != nil {
		return cn, err
	}
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name + "h", MasterIndex: br.Attrs().Index}, PeerName: name + "c"}
	if err := netlink.LinkAdd(veth); err != nil {
		return cn, fmt.Errorf("veth %s: %w", veth.Name, err)
	}
	cn.veth = veth
	if err := netlink.LinkSetUp(veth); err != nil {
		return cn, err
	}
	if cn.ns, err = newNS(); err != nil {
		return cn, fmt.Errorf("network namespace: %w", err)
	}
	peer, err := netlink.LinkByName(name + "c")
	if err != nil {
		return cn, err
	}
	if err := netlink.LinkSetNsFd(peer, int(cn.ns)); err != nil {
		return cn, err
	}
	return cn, cn.inNS(func() error {
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		if err := netlink.LinkSetUp(lo); err != nil {
			return err
		}
		peer, err := netlink.LinkByName(name + "c")
		if err != nil {
			return err
		}
		return addAddrUp(peer, fmt.Sprintf(benchSubnet, octet, 2))
	})
}

func addAddrUp(l netlink.Link, cidr string) error {
	a, err := netlink.ParseAddr(cidr)
	if err != nil {
		return err
	}
	if err := netlink.AddrAdd(l, a); err != nil {
		return fmt.Errorf("address %s on %s: %w", cidr, l.Attrs().Name, err)
	}
	return netlink.LinkSetUp(l)
}

// newNS creates a network namespace on a thread of its own, which ends
// with it, so that no other goroutine runs in it by accident.
func newNS() (netns.NsHandle, error) {
	type result struct {
		ns  netns.NsHandle
		err error
	}
	rc := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		ns, err := netns.New()
		rc <- result{ns, err}
	}()
	r := <-rc
	return r.ns, r.err
}

// inNS runs fn on a thread inside the namespace; sockets fn opens stay
// there.
func (cn *containerNet) inNS(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		if err := netns.Set(cn.ns); err != nil {
			errc <- err
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// listen opens a TCP listener on the container address.
func (cn *containerNet) listen() (net.Listener, error) {
	var ln net.Listener
	err := cn.inNS(func() error {
		var err error
		ln, err = net.Listen("tcp4", net.JoinHostPort(cn.addr.String(), "0"))
		return err
	})
	return ln, err
}

// Close removes the bridge and the veth pair and drops the namespace.
func (cn *containerNet) Close() error {
	if cn.veth != nil {
		netlink.LinkDel(cn.veth)
	}
	if cn.bridge != nil {
		netlink.LinkDel(cn.bridge)
	}
	if cn.ns.IsOpen() {
		cn.ns.Close()
	}
	return nil
}
