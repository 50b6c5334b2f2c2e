package network

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/errdefs"
)

// validName is docker's rule for network names.
var validName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// Create makes a user-defined bridge network: its record, its bridge
// ("br-" + 12 hex digits of the id unless OptBridgeName is given), its NAT
// and isolation rules and its DNS server.
func (m *Manager) Create(ctx context.Context, opts CreateOptions) (*Network, error) {
	if !validName.MatchString(opts.Name) {
		return nil, invalid("invalid network name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", opts.Name)
	}
	if opts.Driver != "" && opts.Driver != DriverBridge {
		return nil, newError(errdefs.ErrNotFound, "plugin %q not found: only the bridge driver is supported", opts.Driver)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkOpen(); err != nil {
		return nil, err
	}
	unlock, err := m.hostLock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	n, err := m.newUserNetwork(opts)
	if err != nil {
		return nil, err
	}
	if err := m.ensureBridge(n); err != nil {
		return nil, err
	}
	unlock()
	if err := m.st.put(n); err != nil {
		m.deleteBridge(ctx, n)
		return nil, err
	}
	m.nets[n.ID] = n
	err = m.syncNAT()
	if err == nil {
		err = m.startDNS(ctx, n)
	}
	if err != nil {
		m.undoCreate(ctx, n)
		return nil, err
	}
	logger(ctx).WithField("network", n.Name).WithField("subnet", n.Subnet).Info("network created")
	return n.clone(), nil
}

// undoCreate takes back a network whose setup failed half way; m.mu held.
func (m *Manager) undoCreate(ctx context.Context, n *Network) {
	if err := m.st.delete(n.ID); err != nil {
		logger(ctx).WithError(err).WithField("network", n.Name).Warn("could not undo network creation")
	}
	m.dropNetwork(ctx, n)
	if err := m.syncNAT(); err != nil {
		logger(ctx).WithError(err).Warn("could not restore nftables rules")
	}
}

// newUserNetwork validates opts against the existing networks; m.mu held.
func (m *Manager) newUserNetwork(opts CreateOptions) (*Network, error) {
	for _, o := range m.nets {
		if o.Name == opts.Name {
			return nil, errNameExists(opts.Name)
		}
	}
	subnet, gw, rng, err := ipamConfig(opts, m.autoSubnet)
	if err != nil {
		return nil, err
	}
	for _, o := range m.nets {
		if o.Subnet.IsValid() && o.Subnet.Overlaps(subnet) {
			return nil, newError(errdefs.ErrConflict,
				"invalid pool request: Pool overlaps with other one on this address space (%s of network %s)", o.Subnet, o.Name)
		}
	}
	n := &Network{
		ID: newID(), Name: opts.Name, Driver: DriverBridge, Created: time.Now().UTC(),
		Subnet: subnet, Gateway: gw, IPRange: rng, Internal: opts.Internal, MTU: m.opts.MTU,
		Labels: opts.Labels, Options: opts.Options, Endpoints: map[string]*Endpoint{},
	}
	n.Bridge = "br-" + shortID(n.ID)
	return n, applyDriverOptions(n, opts.Options, m.nets)
}

func applyDriverOptions(n *Network, o map[string]string, others map[string]*Network) error {
	if name := o[OptBridgeName]; name != "" {
		if len(name) > 15 || strings.ContainsAny(name, "/ :") {
			return invalid("invalid bridge name %q: at most 15 characters, no '/', ':' or spaces", name)
		}
		n.Bridge = name
	}
	for _, x := range others {
		if x.Bridge == n.Bridge {
			return newError(errdefs.ErrConflict, "bridge name %s is already used by network %s", n.Bridge, x.Name)
		}
	}
	if v := o[OptMTU]; v != "" {
		mtu, err := strconv.Atoi(v)
		if err != nil || mtu < 68 || mtu > 65535 {
			return invalid("invalid MTU %q: expected a number between 68 and 65535", v)
		}
		n.MTU = mtu
	}
	if v := o[OptMasquerade]; v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return invalid("invalid value %q for %s: expected true or false", v, OptMasquerade)
		}
		n.NoMasq = !on
	}
	return nil
}

// List returns every network, sorted by name.
func (m *Manager) List(ctx context.Context) ([]*Network, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]*Network, 0, len(m.nets))
	for _, n := range m.nets {
		out = append(out, n.clone())
	}
	slices.SortFunc(out, func(a, b *Network) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Inspect returns the network named ref: a full id, a name, or a unique id
// prefix, in that order of preference (docker's).
func (m *Manager) Inspect(ctx context.Context, ref string) (*Network, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	n, err := m.resolve(ref)
	if err != nil {
		return nil, err
	}
	return n.clone(), nil
}

// resolve finds a network by id, name or id prefix; m.mu held.
func (m *Manager) resolve(ref string) (*Network, error) {
	if ref == "" {
		return nil, invalid("no network name or id given")
	}
	if n, ok := m.nets[ref]; ok {
		return n, nil
	}
	var byPrefix []*Network
	for _, n := range m.nets {
		if n.Name == ref {
			return n, nil
		}
		if strings.HasPrefix(n.ID, ref) {
			byPrefix = append(byPrefix, n)
		}
	}
	switch len(byPrefix) {
	case 1:
		return byPrefix[0], nil
	case 0:
		return nil, errNotFound(ref)
	default:
		return nil, invalid("network %s is ambiguous (%d matches found based on ID prefix)", ref, len(byPrefix))
	}
}

// Remove deletes a user-defined network that has no endpoints, with its
// bridge, rules and DNS server.
func (m *Manager) Remove(ctx context.Context, ref string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkOpen(); err != nil {
		return err
	}
	n, err := m.resolve(ref)
	if err != nil {
		return err
	}
	return m.removeLocked(ctx, n)
}

func (m *Manager) removeLocked(ctx context.Context, n *Network) error {
	if n.Predefined() {
		return errPredefined(n.Name)
	}
	if len(n.Endpoints) > 0 {
		return errActiveEndpoints(n)
	}
	if err := m.st.delete(n.ID); err != nil {
		return err
	}
	m.dropNetwork(ctx, n)
	if err := m.syncNAT(); err != nil {
		return err
	}
	logger(ctx).WithField("network", n.Name).Info("network removed")
	return nil
}

// dropNetwork forgets n in memory and tears down its DNS server and bridge
// (best effort: failures are logged); m.mu held.
func (m *Manager) dropNetwork(ctx context.Context, n *Network) {
	if d := m.dns[n.ID]; d != nil {
		d.srv.stop()
		delete(m.dns, n.ID)
	}
	delete(m.nets, n.ID)
	delete(m.brIndex, n.ID)
	m.refreshOwnDNS()
	m.deleteBridge(ctx, n)
}

// Prune removes every user-defined network without endpoints that
// opts.Filter accepts, and returns their names.
func (m *Manager) Prune(ctx context.Context, opts PruneOptions) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkOpen(); err != nil {
		return nil, err
	}
	var removed []string
	for _, n := range m.nets {
		if n.Predefined() || len(n.Endpoints) > 0 || (opts.Filter != nil && !opts.Filter(n.clone())) {
			continue
		}
		if err := m.removeLocked(ctx, n); err != nil {
			return removed, err
		}
		removed = append(removed, n.Name)
	}
	slices.Sort(removed)
	return removed, nil
}
