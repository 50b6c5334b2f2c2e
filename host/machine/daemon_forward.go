package machine

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"

	"github.com/berth-dev/berth/host/forward"
	"github.com/berth-dev/berth/host/internal/errkind"
)

// The machine daemon keeps the host's port forwards equal to what the
// agent's running containers publish. It reconciles from the agent's
// containers whenever it (re)subscribes to the agent's events (at start and
// after an agent restart), follows container events, and answers the CLI's
// "sync" requests so that forwards exist before `run -d` and `start` return.

// published is what one container publishes, as the agent reports it.
type published struct {
	ID string
	// Up is true while the container runs (paused too: docker keeps its
	// forwards).
	Up bool
	// HostNetwork is true for --network host: docker discards its -p.
	HostNetwork bool
	// Bindings are its port bindings, -P resolved (forward.ContainerBindings).
	Bindings []forward.Binding
}

// listeningPort is a port a process listens on in the agent's namespace.
type listeningPort struct {
	Proto string
	Port  uint16
}

// containerSource is what the port manager asks the agent.
type containerSource interface {
	// Running returns the ids of the containers that are up.
	Running(ctx context.Context) ([]string, error)
	// Published inspects one container; a missing one is errdefs.ErrNotFound.
	Published(ctx context.Context, id string) (published, error)
	// Events subscribes to container events, calls ready once subscribed,
	// then fn for each event until ctx ends or the stream fails.
	Events(ctx context.Context, ready func(), fn func(id, action string)) error
	// ListeningPorts lists the ports listened on in the agent's namespace.
	ListeningPorts(ctx context.Context) ([]listeningPort, error)
}

// Timings of the port manager.
const (
	// hostPortsPoll is how often listening ports are read while --network
	// host containers run with forward-all.
	hostPortsPoll = 2 * time.Second
	// eventsRetryFirst and eventsRetryMax bound the wait between event
	// subscriptions while the agent does not answer.
	eventsRetryFirst = 100 * time.Millisecond
	eventsRetryMax   = 5 * time.Second
)

// portManager owns the machine's Forwarder and keeps it in step.
type portManager struct {
	src        containerSource
	f          *forward.Forwarder
	forwardAll bool
	pollEvery  time.Duration

	mu      sync.Mutex                   // serializes every change
	want    map[string][]forward.Binding // per container, as requested, sorted
	hostNet map[string]bool              // running --network host containers
	anchor  string                       // the host-network container forward-all uses
	found   []forward.Binding            // what forward-all publishes, sorted
	poll    context.CancelFunc           // stops the listening-ports poller
	ctx     context.Context              // parent of the poller
}

func newPortManager(ctx context.Context, src containerSource, f *forward.Forwarder, forwardAll bool) *portManager {
	return &portManager{src: src, f: f, forwardAll: forwardAll, pollEvery: hostPortsPoll, ctx: ctx,
		want: map[string][]forward.Binding{}, hostNet: map[string]bool{}}
}

// Sync makes the forwards of container id match the container and returns
// them (none when it is not running). A host port in use is
// errdefs.ErrConflict with docker's message. A container the agent no
// longer knows (just removed: id may be the name or a prefix the CLI was
// given, which cannot be matched any more) makes every forward match the
// running containers, so that `rm -f` leaves no forward behind.
func (pm *portManager) Sync(ctx context.Context, id string) ([]forward.Forward, error) {
	pub, err := pm.src.Published(ctx, id)
	if errdefs.IsNotFound(err) {
		pm.mu.Lock()
		pm.drop(id)
		none := len(pm.want) == 0 && len(pm.hostNet) == 0
		pm.mu.Unlock()
		if none {
			return nil, nil // nothing to drop: no need to ask the agent
		}
		// Failures here concern other containers, not this sync.
		if err := pm.Reconcile(ctx); err != nil {
			log.G(ctx).WithError(err).Warn("port forwards")
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	pm.mu.Lock()
	defer pm.mu.Unlock()
	err = pm.apply(ctx, pub)
	pm.updatePoller()
	return pm.forwardsOf(pub.ID), err
}

// List returns every forward.
func (pm *portManager) List() []forward.Forward { return pm.f.List() }

// Reconcile makes every forward match the agent's running containers.
func (pm *portManager) Reconcile(ctx context.Context) error {
	ids, err := pm.src.Running(ctx)
	if err != nil {
		return err
	}
	var pubs []published
	var errs []error
	for _, id := range ids {
		p, err := pm.src.Published(ctx, id)
		if err != nil {
			if !errdefs.IsNotFound(err) {
				errs = append(errs, err)
			}
			continue
		}
		pubs = append(pubs, p)
	}
	pm.mu.Lock()
	defer pm.mu.Unlock()
	up := map[string]bool{}
	for _, p := range pubs {
		up[p.ID] = p.Up
	}
	for id := range pm.want {
		if !up[id] {
			pm.drop(id)
		}
	}
	for id := range pm.hostNet {
		if !up[id] {
			pm.drop(id)
		}
	}
	for _, p := range pubs {
		if err := pm.apply(ctx, p); err != nil {
			errs = append(errs, err)
		}
	}
	pm.updatePoller()
	return errors.Join(errs...)
}

// apply makes the forwards of one container match p. pm.mu is held.
func (pm *portManager) apply(ctx context.Context, p published) error {
	if p.HostNetwork {
		if p.Up {
			pm.hostNet[p.ID] = true
		} else {
			pm.drop(p.ID)
		}
		return nil
	}
	var want []forward.Binding
	if p.Up {
		want = slices.Clone(p.Bindings)
		sortBindings(want)
	}
	if cur, ok := pm.want[p.ID]; ok && slices.Equal(cur, want) {
		return nil
	}
	pm.f.Remove(p.ID)
	delete(pm.want, p.ID)
	if len(want) == 0 {
		return nil
	}
	fws, err := pm.f.Add(ctx, p.ID, want)
	if err != nil {
		return err
	}
	pm.want[p.ID] = want
	log.G(ctx).WithField("container", shortID(p.ID)).Infof("forwarding %d host address(es)", len(fws))
	return nil
}

// drop removes every forward of container id. pm.mu is held.
func (pm *portManager) drop(id string) {
	pm.f.Remove(id)
	delete(pm.want, id)
	delete(pm.hostNet, id)
	if pm.anchor == id {
		pm.anchor, pm.found = "", nil
	}
}

func (pm *portManager) forwardsOf(id string) []forward.Forward {
	var out []forward.Forward
	for _, fw := range pm.f.List() {
		if fw.ContainerID == id {
			out = append(out, fw)
		}
	}
	return out
}

// sortBindings orders bindings the way the Forwarder compares them.
func sortBindings(bs []forward.Binding) {
	sort.Slice(bs, func(i, j int) bool {
		a, b := bs[i], bs[j]
		if a.Proto != b.Proto {
			return a.Proto < b.Proto
		}
		if a.ContainerPort != b.ContainerPort {
			return a.ContainerPort < b.ContainerPort
		}
		if c := a.HostIP.Compare(b.HostIP); c != 0 {
			return c < 0
		}
		if a.HostPort != b.HostPort {
			return a.HostPort < b.HostPort
		}
		return a.HostPortEnd < b.HostPortEnd
	})
}

// Follow subscribes to the agent's container events until ctx ends,
// reconciling every time the subscription starts (daemon start, agent
// restart) and syncing the container of every event.
func (pm *portManager) Follow(ctx context.Context) {
	wait := eventsRetryFirst
	for ctx.Err() == nil {
		subscribed := false
		err := pm.src.Events(ctx, func() {
			subscribed = true
			if err := pm.Reconcile(ctx); err != nil {
				log.G(ctx).WithError(err).Warn("restoring port forwards")
			}
		}, func(id, action string) {
			if !forwardAction(action) {
				return
			}
			if _, err := pm.Sync(ctx, id); err != nil {
				log.G(ctx).WithError(err).WithField("container", shortID(id)).Warn("port forwards")
			}
		})
		if ctx.Err() != nil {
			return
		}
		if subscribed {
			wait = eventsRetryFirst // the agent went away: it is probably restarting
		}
		log.G(ctx).WithError(err).Debug("agent events ended; subscribing again")
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, eventsRetryMax)
	}
}

// forwardAction reports whether a container event may change forwards.
func forwardAction(action string) bool {
	switch action {
	case "start", "restart", "die", "stop", "kill", "destroy", "oom", "unpause":
		return true
	}
	return false
}

// updatePoller starts the listening-ports poller while forward-all has
// host-network containers to serve, and stops it otherwise: an idle
// machine polls nothing. pm.mu is held.
func (pm *portManager) updatePoller() {
	need := pm.forwardAll && len(pm.hostNet) > 0
	if need && pm.anchor != "" && !pm.hostNet[pm.anchor] {
		pm.f.Remove(pm.anchor)
		pm.anchor, pm.found = "", nil
	}
	if !need {
		if pm.anchor != "" {
			pm.f.Remove(pm.anchor)
			pm.anchor, pm.found = "", nil
		}
		if pm.poll != nil {
			pm.poll()
			pm.poll = nil
		}
		return
	}
	if pm.poll != nil {
		return
	}
	ctx, cancel := context.WithCancel(pm.ctx)
	pm.poll = cancel
	go pm.pollHostPorts(ctx)
}

func (pm *portManager) pollHostPorts(ctx context.Context) {
	t := time.NewTicker(pm.pollEvery)
	defer t.Stop()
	for {
		pm.refreshHostPorts(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// refreshHostPorts forwards every port listened on in the agent's
// namespace on the same port of 127.0.0.1, through one running
// host-network container (the agent dials 127.0.0.1 for those).
func (pm *portManager) refreshHostPorts(ctx context.Context) {
	ports, err := pm.src.ListeningPorts(ctx)
	if err != nil {
		log.G(ctx).WithError(err).Debug("listening ports")
		return
	}
	loopback := netip.AddrFrom4([4]byte{127, 0, 0, 1})
	seen := map[listeningPort]bool{}
	var want []forward.Binding
	for _, p := range ports {
		if seen[p] || p.Port == 0 {
			continue
		}
		seen[p] = true
		want = append(want, forward.Binding{Proto: p.Proto, HostIP: loopback, HostPort: p.Port, ContainerPort: p.Port})
	}
	sortBindings(want)
	pm.mu.Lock()
	defer pm.mu.Unlock()
	if ctx.Err() != nil || len(pm.hostNet) == 0 {
		return
	}
	anchor := pm.anchor
	if anchor == "" || !pm.hostNet[anchor] {
		anchor = firstKey(pm.hostNet)
	}
	if anchor == pm.anchor && slices.Equal(want, pm.found) {
		return
	}
	pm.f.Remove(pm.anchor)
	pm.anchor, pm.found = anchor, want
	var ok []forward.Binding
	for _, b := range want {
		if err := forward.Probe(ctx, []forward.Binding{b}); err != nil {
			log.G(ctx).WithError(err).Debugf("not forwarding %d/%s", b.ContainerPort, b.Proto)
			continue
		}
		ok = append(ok, b)
	}
	if len(ok) == 0 {
		return
	}
	if _, err := pm.f.Add(ctx, anchor, ok); err != nil {
		log.G(ctx).WithError(err).Warn("forwarding host-network ports")
	}
}

func firstKey(m map[string]bool) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys[0]
}

// Close stops the poller and removes every forward.
func (pm *portManager) Close() {
	pm.mu.Lock()
	if pm.poll != nil {
		pm.poll()
		pm.poll = nil
	}
	pm.mu.Unlock()
	pm.f.Close()
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// newPortManager makes the daemon's Forwarder: forward streams to the
// agent, and on the native driver (host and agent share a kernel) TCP
// connections handed to the agent whole. Forward-all needs a VM: on the
// native driver the host-network ports are the host's own already.
func (dm *daemon) newPortManager(ctx context.Context) *portManager {
	var opts []forward.Option
	feat := dm.d.Features()
	if !feat.VM && feat.SameFilesystem {
		opts = append(opts, forward.WithHandoff(forward.UnixHandoff(dm.d.DialAgent)))
	}
	addrs, err := dm.m.Config.DefaultForwardAddrs()
	if err != nil {
		log.G(ctx).WithError(err).Warn("using the default forward addresses")
	}
	opts = append(opts, forward.WithDefaultAddrs(addrs...))
	f := forward.New(forward.StreamDialer(dm.d.DialAgent), opts...)
	all := dm.m.Config.ForwardAll
	if all && !feat.VM {
		log.G(ctx).Info("forward-all: the driver runs containers on the host itself; host-network ports need no forwarding")
		all = false
	}
	return newPortManager(ctx, agentSource{dial: dm.d.DialAgent}, f, all)
}

// DefaultForwardAddrs parses ForwardAddresses; nil means the Forwarder's
// defaults (127.0.0.1 and ::1).
func (c Config) DefaultForwardAddrs() ([]netip.Addr, error) {
	var out []netip.Addr
	for _, s := range c.ForwardAddresses {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, errkind.New(errdefs.ErrInvalidArgument, "machine %q: invalid forward address %q", c.Name, s)
		}
		out = append(out, a.Unmap())
	}
	return out, nil
}
