package network

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Manager owns the networks of one agent. It is safe for concurrent use.
type Manager struct {
	opts Options
	st   store
	ns   netns.NsHandle  // the namespace bridges, rules and DNS live in
	nl   *netlink.Handle // rtnetlink socket in ns
	// bgnl is a second socket for background veth deletions, which take
	// the kernel tens of milliseconds: on nl they would hold up attaches.
	bgnl *netlink.Handle

	mu      sync.RWMutex
	nets    map[string]*Network            // by id
	brIndex map[string]int                 // bridge ifindex by network id
	dns     map[string]*netDNS             // by network id
	busy    map[string]map[netip.Addr]bool // addresses of veths being deleted
	bg      sync.WaitGroup                 // background veth deletions
	ownDNS  atomic.Pointer[map[netip.Addr]bool]
	closed  bool
}

// New opens the networks stored in opts.DB and brings the kernel in line
// with them: the predefined networks exist, every bridge exists (existing
// ones are reused, so running containers keep their connectivity), the
// nftables table is rebuilt, IPv4 forwarding is on and the embedded DNS
// servers run.
func New(ctx context.Context, opts Options) (*Manager, error) {
	if opts.DB == nil {
		return nil, errors.New("network: no database given")
	}
	setDefaults(&opts)
	m := &Manager{
		opts:    opts,
		st:      store{db: opts.DB},
		brIndex: map[string]int{},
		dns:     map[string]*netDNS{},
		busy:    map[string]map[netip.Addr]bool{},
	}
	var err error
	if m.ns, err = openNS(opts.NetNS); err != nil {
		return nil, err
	}
	if m.nl, err = netlink.NewHandleAt(m.ns); err == nil {
		m.bgnl, err = netlink.NewHandleAt(m.ns)
	}
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("network: open rtnetlink: %w", err)
	}
	if err := m.restore(ctx); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

func setDefaults(o *Options) {
	if o.Table == "" {
		o.Table = TableName
	}
	if o.DefaultBridge == "" {
		o.DefaultBridge = DefaultBridgeName
	}
	if len(o.AddressPools) == 0 {
		o.AddressPools = DefaultAddressPools()
	}
	if o.MTU == 0 {
		o.MTU = 1500
	}
	if o.ResolvConfPath == "" {
		o.ResolvConfPath = "/etc/resolv.conf"
	}
}

// restore loads the store and sets up everything it describes.
func (m *Manager) restore(ctx context.Context) error {
	if err := m.st.init(); err != nil {
		return fmt.Errorf("network store: %w", err)
	}
	nets, err := m.st.load()
	if err != nil {
		return err
	}
	m.nets = nets
	m.mu.Lock()
	defer m.mu.Unlock()
	unlock, err := m.hostLock()
	if err != nil {
		return err
	}
	defer unlock()
	if err := m.ensurePredefined(); err != nil {
		return err
	}
	for _, n := range m.nets {
		if n.Driver != DriverBridge {
			continue
		}
		if err := m.ensureBridge(n); err != nil {
			if n.Name == NameBridge {
				return err
			}
			// One broken user network must not keep the agent down.
			logger(ctx).WithError(err).WithField("network", n.Name).Warn("network unavailable")
		}
	}
	unlock()
	if err := m.syncNAT(); err != nil {
		return err
	}
	if err := enableForwarding(m.ns); err != nil {
		return err
	}
	for _, n := range m.nets {
		if err := m.startDNS(ctx, n); err != nil {
			logger(ctx).WithError(err).WithField("network", n.Name).Warn("no embedded DNS for network")
		}
	}
	return nil
}

// ensurePredefined creates the records of "bridge", "host" and "none" on
// first start.
func (m *Manager) ensurePredefined() error {
	have := map[string]bool{}
	for _, n := range m.nets {
		have[n.Name] = true
	}
	for _, name := range []string{NameBridge, NameHost, NameNone} {
		if have[name] {
			continue
		}
		n, err := m.newPredefined(name)
		if err != nil {
			return err
		}
		if err := m.st.put(n); err != nil {
			return err
		}
		m.nets[n.ID] = n
	}
	return nil
}

func (m *Manager) newPredefined(name string) (*Network, error) {
	n := &Network{ID: newID(), Name: name, Created: time.Now().UTC(), Endpoints: map[string]*Endpoint{}}
	switch name {
	case NameHost:
		n.Driver = DriverHost
	case NameNone:
		n.Driver = DriverNull
	default:
		n.Driver = DriverBridge
		n.Bridge = m.opts.DefaultBridge
		n.MTU = m.opts.MTU
		subnet, gw, err := m.existingBridgeSubnet(n.Bridge)
		if !subnet.IsValid() && err == nil {
			subnet, gw, _, err = ipamConfig(CreateOptions{Subnet: m.opts.DefaultSubnet}, m.autoSubnet)
		}
		if err != nil {
			return nil, fmt.Errorf("default bridge network: %w", err)
		}
		n.Subnet, n.Gateway = subnet, gw
		// docker's options of its default network, for inspect.
		n.Options = map[string]string{
			"com.docker.network.bridge.default_bridge":    "true",
			"com.docker.network.bridge.enable_icc":        "true",
			OptMasquerade:                                 "true",
			"com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
			OptBridgeName:                                 n.Bridge,
			OptMTU:                                        fmt.Sprint(n.MTU),
		}
	}
	return n, nil
}

// existingBridgeSubnet returns the subnet and address of a bridge that
// already exists (left by an earlier install, or made by the VM's init), so
// that the default network adopts it as docker does with docker0. No
// DefaultSubnet override applies then.
func (m *Manager) existingBridgeSubnet(name string) (netip.Prefix, netip.Addr, error) {
	if m.opts.DefaultSubnet != "" {
		return netip.Prefix{}, netip.Addr{}, nil
	}
	link, err := m.nl.LinkByName(name)
	if err != nil || link.Type() != "bridge" {
		return netip.Prefix{}, netip.Addr{}, nil //nolint:nilerr // no bridge yet: pick a subnet
	}
	addrs, err := m.nl.AddrList(link, unix.AF_INET)
	if err != nil {
		return netip.Prefix{}, netip.Addr{}, fmt.Errorf("list addresses of %s: %w", name, err)
	}
	for _, a := range addrs {
		if p, ok := prefixOf(a.IPNet); ok && p.Bits() <= 30 {
			return p.Masked(), p.Addr(), nil
		}
	}
	return netip.Prefix{}, netip.Addr{}, nil
}

// hostLock takes m.opts.HostLock (see Options.HostLock); the returned func
// releases it and may be called more than once. Without a HostLock it does
// nothing.
func (m *Manager) hostLock() (func(), error) {
	p := m.opts.HostLock
	if p == "" {
		return func() {}, nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, fmt.Errorf("network: lock %s: %w", p, err)
	}
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("network: lock %s: %w", p, err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("network: lock %s: %w", p, err)
	}
	var once sync.Once
	return func() { once.Do(func() { f.Close() }) }, nil
}

// autoSubnet picks a free subnet from the address pools: one overlapping
// neither another network nor a route or address of this namespace.
func (m *Manager) autoSubnet() (netip.Prefix, error) {
	used, err := m.hostPrefixes()
	if err != nil {
		return netip.Prefix{}, err
	}
	for _, n := range m.nets {
		used = append(used, n.Subnet)
	}
	return pickSubnet(m.opts.AddressPools, used)
}

// Close stops the embedded DNS servers and releases the Manager's sockets.
// Bridges, veths and nftables rules stay: running containers need them.
// It waits for the deletion of detached containers' veths.
func (m *Manager) Close() error {
	m.bg.Wait()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	for id, d := range m.dns {
		d.srv.stop()
		delete(m.dns, id)
	}
	for _, h := range []*netlink.Handle{m.nl, m.bgnl} {
		if h != nil {
			h.Close()
		}
	}
	return m.ns.Close()
}

// ResolvConf returns the /etc/resolv.conf for a container on the network
// ref: the embedded DNS server for user-defined networks, the host's own
// file on "host", and the host's non-loopback resolvers (or docker's public
// fallback) otherwise.
func (m *Manager) ResolvConf(ref string) ([]byte, error) {
	m.mu.RLock()
	n, err := m.resolve(ref)
	var gw string
	var user bool
	if err == nil {
		gw, user = n.Gateway.String(), n.UserDefined()
	}
	m.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(m.opts.ResolvConfPath)
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("read host resolver configuration: %w", err)
	}
	switch {
	case n.Driver == DriverHost:
		return data, nil
	case user && !m.opts.DisableDNS:
		return containerResolvConf(parseResolvConf(data), []string{gw}, "ndots:0"), nil
	default:
		return containerResolvConf(parseResolvConf(data), bridgeNameservers(parseResolvConf(data))), nil
	}
}

// checkOpen fails once the Manager is closed; m.mu must be held.
func (m *Manager) checkOpen() error {
	if m.closed {
		return fmt.Errorf("network manager is closed: %w", errdefs.ErrUnavailable)
	}
	return nil
}

func logger(ctx context.Context) *log.Entry { return log.G(ctx).WithField("module", "network") }
