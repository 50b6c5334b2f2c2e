package network

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/containerd/errdefs"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// loopbackIndex is the ifindex of "lo" in every network namespace.
const loopbackIndex = 1

// Attach connects the container whose network namespace is at netnsPath to
// the network ref and returns the endpoint. On a bridge network it creates a
// veth pair (host side on the bridge, peer inside as eth0, eth1, …), gives
// the peer its address and MAC, brings it and lo up and routes through the
// gateway. On "none" it only brings lo up; on "host" it records the
// endpoint (netnsPath is ignored).
func (m *Manager) Attach(ctx context.Context, ref, containerID, netnsPath string, opts AttachOptions) (*Endpoint, error) {
	if containerID == "" {
		return nil, invalid("attach: no container id given")
	}
	for _, d := range opts.DNS {
		if len(upstreamAddrs([]string{d}, nil)) == 0 {
			return nil, invalid("invalid DNS server %q: expected an IP address", d)
		}
	}
	ep, n, err := m.reserve(ref, containerID, opts)
	if err != nil {
		return nil, err
	}
	switch n.Driver {
	case DriverBridge:
		err = m.plumb(ep, n, netnsPath)
	case DriverNull:
		err = loopbackUp(netnsPath)
	}
	if err != nil {
		m.release(ctx, n.ID, containerID)
		return nil, fmt.Errorf("attach container %s to network %s: %w", shortID(containerID), n.Name, err)
	}
	return ep, nil
}

// netSnapshot is what plumbing needs of a network, copied under the lock.
type netSnapshot struct {
	ID, Name, Bridge, Driver string
	Gateway                  netip.Addr
	Internal                 bool
	MTU, BridgeIndex         int
}

// reserve records the endpoint (allocating its address) before any kernel
// work, so that concurrent attaches never get the same address.
func (m *Manager) reserve(ref, containerID string, opts AttachOptions) (*Endpoint, netSnapshot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkOpen(); err != nil {
		return nil, netSnapshot{}, err
	}
	n, err := m.resolve(ref)
	if err != nil {
		return nil, netSnapshot{}, err
	}
	if _, ok := n.Endpoints[containerID]; ok {
		return nil, netSnapshot{}, newError(errdefs.ErrConflict,
			"endpoint with name %s already exists in network %s", nameOr(opts.Name, containerID), n.Name)
	}
	ep := &Endpoint{ID: newID(), NetworkID: n.ID, ContainerID: containerID, Name: opts.Name,
		Aliases: opts.Aliases, DNS: opts.DNS}
	if n.Driver == DriverBridge {
		if m.brIndex[n.ID] == 0 {
			// Its bridge could not be set up at start: try again now.
			if err := m.ensureBridge(n); err != nil {
				return nil, netSnapshot{}, err
			}
		}
		if err := m.addressEndpoint(ep, n, opts); err != nil {
			return nil, netSnapshot{}, err
		}
	}
	n.Endpoints[containerID] = ep
	if err := m.st.put(n); err != nil {
		delete(n.Endpoints, containerID)
		return nil, netSnapshot{}, err
	}
	m.refreshDNS(n)
	snap := netSnapshot{ID: n.ID, Name: n.Name, Bridge: n.Bridge, Driver: n.Driver, Gateway: n.Gateway,
		Internal: n.Internal, MTU: n.MTU, BridgeIndex: m.brIndex[n.ID]}
	c := *ep
	c.Aliases, c.DNS = slices.Clone(ep.Aliases), slices.Clone(ep.DNS)
	return &c, snap, nil
}

// addressEndpoint fills in IP, MAC, interface and veth names; m.mu held.
func (m *Manager) addressEndpoint(ep *Endpoint, n *Network, opts AttachOptions) error {
	var want netip.Addr
	if opts.IP != "" {
		if n.Name == NameBridge {
			return invalid("user specified IP address is supported on user defined networks only")
		}
		var err error
		if want, err = netip.ParseAddr(opts.IP); err != nil || !want.Is4() {
			return invalid("invalid IPv4 address %q", opts.IP)
		}
	}
	ip, err := allocate(n, want, m.busy[n.ID])
	if err != nil {
		return err
	}
	mac := macFromIP(ip)
	if opts.MAC != "" {
		if mac, err = parseMAC(opts.MAC); err != nil {
			return err
		}
	}
	ep.IP = netip.PrefixFrom(ip, n.Subnet.Bits())
	ep.Gateway = n.Gateway
	ep.MAC = mac.String()
	ep.IfName = opts.IfName
	if ep.IfName == "" {
		ep.IfName = m.nextIfName(ep.ContainerID)
	}
	ep.HostVeth = vethName(n.ID, ep.ContainerID)
	return nil
}

// nextIfName returns the lowest ethN the container does not use yet.
func (m *Manager) nextIfName(containerID string) string {
	used := map[string]bool{}
	for _, n := range m.nets {
		if e := n.Endpoints[containerID]; e != nil {
			used[e.IfName] = true
		}
	}
	for i := 0; ; i++ {
		if name := fmt.Sprintf("eth%d", i); !used[name] {
			return name
		}
	}
}

// vethName is the host side's name: stable for a (network, container) pair
// so that a leftover from a crash can be found and replaced.
func vethName(networkID, containerID string) string {
	sum := sha256.Sum256([]byte(networkID + "/" + containerID))
	return "veth" + hex.EncodeToString(sum[:])[:7]
}

func nameOr(name, id string) string {
	if name != "" {
		return name
	}
	return shortID(id)
}

// plumb creates and configures the veth pair of ep.
func (m *Manager) plumb(ep *Endpoint, n netSnapshot, netnsPath string) error {
	if netnsPath == "" {
		return invalid("no network namespace given for a bridge network")
	}
	ns, err := netns.GetFromPath(netnsPath)
	if err != nil {
		return fmt.Errorf("open network namespace %s: %w", netnsPath, err)
	}
	defer ns.Close()
	if err := m.addVeth(ep, n, ns); err != nil {
		return err
	}
	if err := configureInside(ep, n, ns); err != nil {
		_ = delLink(m.nl, ep.HostVeth)
		return err
	}
	waitOperUp(m.nl, ep.HostVeth)
	return nil
}

// addVeth creates the pair in one request: host side up and on the bridge,
// peer created directly inside ns under its final name and MAC.
func (m *Manager) addVeth(ep *Endpoint, n netSnapshot, ns netns.NsHandle) error {
	attrs := netlink.NewLinkAttrs()
	attrs.Name = ep.HostVeth
	attrs.MTU = n.MTU
	attrs.MasterIndex = n.BridgeIndex
	attrs.Flags = net.FlagUp
	veth := &netlink.Veth{LinkAttrs: attrs, PeerName: ep.IfName,
		PeerHardwareAddr: ep.HardwareAddr(), PeerNamespace: netlink.NsFd(ns)}
	err := m.nl.LinkAdd(veth)
	if errors.Is(err, unix.EEXIST) {
		// A leftover of an attach interrupted by a crash: replace it.
		_ = delLink(m.nl, ep.HostVeth)
		err = m.nl.LinkAdd(veth)
	}
	if err != nil {
		return fmt.Errorf("create veth pair %s/%s: %w", ep.HostVeth, ep.IfName, err)
	}
	return nil
}

// configureInside sets the address, brings the interface and lo up and adds
// the default route, all through a netlink socket opened inside ns.
func configureInside(ep *Endpoint, n netSnapshot, ns netns.NsHandle) error {
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("open rtnetlink in container namespace: %w", err)
	}
	defer h.Close()
	link, err := h.LinkByName(ep.IfName)
	if err != nil {
		return fmt.Errorf("find %s in container namespace: %w", ep.IfName, err)
	}
	if err := h.AddrAdd(link, &netlink.Addr{IPNet: ipNet(ep.IP)}); err != nil {
		return fmt.Errorf("add address %s to %s: %w", ep.IP, ep.IfName, err)
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("set %s up: %w", ep.IfName, err)
	}
	if err := h.LinkSetUp(&netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: loopbackIndex}}); err != nil {
		return fmt.Errorf("set lo up: %w", err)
	}
	if !n.Internal { // internal networks have no way out: no default route
		route := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: net.IP(n.Gateway.AsSlice())}
		if err := h.RouteAdd(route); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("add default route via %s: %w", n.Gateway, err)
		}
	}
	waitOperUp(h, ep.IfName)
	return nil
}

// waitOperUp waits, briefly, for the kernel's link watcher to activate a
// veth whose carrier just came up: until it has, the interface's queue
// drops every packet, and a container's first SYN would be retransmitted
// only a second later. It usually has by the first look.
func waitOperUp(h *netlink.Handle, name string) {
	deadline := time.Now().Add(time.Second)
	for {
		l, err := h.LinkByName(name)
		if err != nil || l.Attrs().OperState == netlink.OperUp || time.Now().After(deadline) {
			return
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// loopbackUp brings lo up in the namespace at path (the "none" network).
func loopbackUp(path string) error {
	if path == "" {
		return nil
	}
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return fmt.Errorf("open network namespace %s: %w", path, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("open rtnetlink in container namespace: %w", err)
	}
	defer h.Close()
	return h.LinkSetUp(&netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: loopbackIndex}})
}

// Detach disconnects the container from the network ref and releases its
// address. The veth pair is deleted in the background: the kernel takes tens
// of milliseconds to destroy an interface (RCU grace periods), which a
// container's stop should not wait for. Until it is gone its address is not
// handed out again, and Close waits for it.
func (m *Manager) Detach(ctx context.Context, ref, containerID string) error {
	ep, err := m.unrecord(ctx, ref, containerID)
	if err != nil || ep.HostVeth == "" {
		return err
	}
	m.bg.Add(1)
	go func() {
		defer m.bg.Done()
		m.deleteVeth(context.WithoutCancel(ctx), ep)
	}()
	return nil
}

// unrecord removes the container's endpoint from the store; its address
// stays busy until deleteVeth is done.
func (m *Manager) unrecord(ctx context.Context, ref, containerID string) (*Endpoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.resolve(ref)
	if err != nil {
		return nil, err
	}
	ep := n.Endpoints[containerID]
	if ep == nil {
		return nil, newError(errdefs.ErrNotFound, "container %s is not connected to network %s", shortID(containerID), n.Name)
	}
	delete(n.Endpoints, containerID)
	if err := m.st.put(n); err != nil {
		n.Endpoints[containerID] = ep
		return nil, fmt.Errorf("detach container %s from network %s: %w", shortID(containerID), n.Name, err)
	}
	m.refreshDNS(n)
	if ep.HostVeth != "" && ep.IP.IsValid() {
		if m.busy[n.ID] == nil {
			m.busy[n.ID] = map[netip.Addr]bool{}
		}
		m.busy[n.ID][ep.IP.Addr()] = true
	}
	return ep, nil
}

// deleteVeth deletes the host side of ep's pair (which takes the peer with
// it), then frees its address for allocation.
func (m *Manager) deleteVeth(ctx context.Context, ep *Endpoint) {
	if err := delLink(m.bgnl, ep.HostVeth); err != nil {
		logger(ctx).WithError(err).WithField("veth", ep.HostVeth).Warn("could not delete veth of detached container")
	}
	m.mu.Lock()
	delete(m.busy[ep.NetworkID], ep.IP.Addr())
	m.mu.Unlock()
}

// release forgets the endpoint of containerID on network id, freeing its
// address (used to undo a failed attach).
func (m *Manager) release(ctx context.Context, id, containerID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.nets[id]
	if n == nil || n.Endpoints[containerID] == nil {
		return
	}
	ep := n.Endpoints[containerID]
	delete(n.Endpoints, containerID)
	m.refreshDNS(n)
	if err := m.st.put(n); err != nil {
		n.Endpoints[containerID] = ep
		m.refreshDNS(n)
		logger(ctx).WithError(err).Warn("could not release endpoint of a failed attach")
	}
}

// Endpoints returns the container's endpoints on every network.
func (m *Manager) Endpoints(containerID string) []*Endpoint {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []*Endpoint
	for _, n := range m.nets {
		if e := n.Endpoints[containerID]; e != nil {
			c := *e
			out = append(out, &c)
		}
	}
	return out
}

// ReleaseStale detaches every endpoint whose container alive reports as
// gone (after a crash or a VM reboot nobody detached them), so their
// addresses are free again. It returns how many it released.
func (m *Manager) ReleaseStale(ctx context.Context, alive func(containerID string) bool) (int, error) {
	type stale struct{ network, container string }
	var list []stale
	m.mu.RLock()
	for _, n := range m.nets {
		for id := range n.Endpoints {
			if !alive(id) {
				list = append(list, stale{n.ID, id})
			}
		}
	}
	m.mu.RUnlock()
	released := 0
	for _, s := range list {
		err := m.Detach(ctx, s.network, s.container)
		if err != nil && !errdefs.IsNotFound(err) {
			return released, err
		}
		if err == nil {
			released++
		}
	}
	return released, nil
}
