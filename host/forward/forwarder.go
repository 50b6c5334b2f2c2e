package forward

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"

	"github.com/berth-dev/berth/host/internal/errkind"
)

// DialFunc opens a forward stream to port/proto of a container: in the
// machine daemon, a connection to the agent that starts with the
// KindForward header for StreamID(proto, containerID, port) (see
// StreamDialer). The returned connection should be the raw transport
// connection (*net.UnixConn, vsock, ...), not a wrapper, so that copies
// between it and a *net.TCPConn use the kernel's splice.
type DialFunc func(ctx context.Context, proto, containerID string, port uint16) (net.Conn, error)

// DefaultUDPIdleTimeout is how long a UDP flow lives without traffic in
// either direction (docker-proxy's value).
const DefaultUDPIdleTimeout = 90 * time.Second

// Option configures a Forwarder.
type Option func(*options)

type options struct {
	defaultAddrs []netip.Addr
	udpIdle      time.Duration
	handoff      HandoffFunc
}

func defaultOptions() options {
	return options{
		defaultAddrs: []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()},
		udpIdle:      DefaultUDPIdleTimeout,
	}
}

// WithDefaultAddrs sets the addresses a binding without HostIP listens on
// (127.0.0.1 and ::1 by default; 0.0.0.0 and :: publish on every
// interface, as docker does). An IPv6 default that the host cannot bind
// (IPv6 disabled) is skipped; an IPv4 one is an error.
func WithDefaultAddrs(addrs ...netip.Addr) Option {
	return func(o *options) {
		if len(addrs) > 0 {
			o.defaultAddrs = slices.Clone(addrs)
		}
	}
}

// WithUDPIdleTimeout sets how long an idle UDP flow is kept.
func WithUDPIdleTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.udpIdle = d
		}
	}
}

// Forward is one published host address: a binding with the address and
// port actually bound.
type Forward struct {
	ContainerID string
	Binding
}

// Forwarder owns the host listeners of published ports. Its methods are
// safe for concurrent use.
type Forwarder struct {
	dial DialFunc
	opts options

	ctx    context.Context // parent of every forwarding goroutine
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu         sync.Mutex
	closed     bool
	containers map[string]*containerForwards
}

// containerForwards is what Add set up for one container.
type containerForwards struct {
	want      []Binding // as requested, sorted (what Reconcile compares)
	listeners []listener
}

// listener is one bound host socket and its serving loop.
type listener interface {
	forward() Forward
	serve()
	close()
}

// New returns a Forwarder that opens streams with dial.
func New(dial DialFunc, opts ...Option) *Forwarder {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Forwarder{dial: dial, opts: o, ctx: ctx, cancel: cancel, containers: map[string]*containerForwards{}}
}

// Add publishes bindings for containerID. It binds every host socket before
// serving any, so it either publishes all of them or none: a host port in
// use fails with docker's message ("Bind for 127.0.0.1:8080 failed: port is
// already allocated", errdefs.ErrConflict) and leaves nothing bound. It
// returns what was bound, one Forward per host address, with free ports
// (0) and ranges resolved to the real port. A container that already has
// forwards must be Removed first (errdefs.ErrAlreadyExists).
func (f *Forwarder) Add(ctx context.Context, containerID string, bindings []Binding) ([]Forward, error) {
	if containerID == "" || strings.Contains(containerID, "/") {
		return nil, errkind.New(errdefs.ErrInvalidArgument, "invalid container id %q for a port forward", containerID)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, errkind.New(errdefs.ErrUnavailable, "port forwarder is closed")
	}
	if _, ok := f.containers[containerID]; ok {
		return nil, errkind.New(errdefs.ErrAlreadyExists, "container %s already has published ports; remove them first", short(containerID))
	}
	ls, err := f.bindAll(containerID, bindings)
	if err != nil {
		return nil, err
	}
	want := slices.Clone(bindings)
	sortBindings(want)
	f.containers[containerID] = &containerForwards{want: want, listeners: ls}
	out := make([]Forward, 0, len(ls))
	for _, l := range ls {
		out = append(out, l.forward())
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			l.serve()
		}()
	}
	log.G(ctx).WithField("container", short(containerID)).Debugf("published %d port(s)", len(out))
	return out, nil
}

// Remove stops publishing containerID's ports: its listeners are closed at
// once (new connections are refused) and so are its open connections and
// flows. Removing a container without forwards does nothing.
func (f *Forwarder) Remove(containerID string) {
	f.mu.Lock()
	cf := f.containers[containerID]
	delete(f.containers, containerID)
	f.mu.Unlock()
	if cf != nil {
		for _, l := range cf.listeners {
			l.close()
		}
	}
}

// List returns every published host address, sorted by container, proto,
// container port and host address.
func (f *Forwarder) List() []Forward {
	f.mu.Lock()
	var out []Forward
	for _, cf := range f.containers {
		for _, l := range cf.listeners {
			out = append(out, l.forward())
		}
	}
	f.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].ContainerID != out[j].ContainerID {
			return out[i].ContainerID < out[j].ContainerID
		}
		return compareBindings(out[i].Binding, out[j].Binding) < 0
	})
	return out
}

// Reconcile makes the published ports equal to want (container id ->
// bindings as requested): containers not in want lose their forwards,
// containers whose requested bindings changed are re-published, new ones
// are added. It goes on after a failure and returns every failure joined;
// the daemon calls it at start and whenever the agent reports a change.
func (f *Forwarder) Reconcile(ctx context.Context, want map[string][]Binding) error {
	f.mu.Lock()
	var stale []string
	have := map[string][]Binding{}
	for id, cf := range f.containers {
		have[id] = cf.want
	}
	f.mu.Unlock()
	for id, cur := range have {
		w, ok := want[id]
		if !ok || !sameBindings(cur, w) {
			stale = append(stale, id)
		}
	}
	for _, id := range stale {
		f.Remove(id)
		delete(have, id)
	}
	var errs []error
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if _, ok := have[id]; ok || len(want[id]) == 0 {
			continue
		}
		if _, err := f.Add(ctx, id, want[id]); err != nil {
			errs = append(errs, fmt.Errorf("container %s: %w", short(id), err))
		}
	}
	return errors.Join(errs...)
}

func sameBindings(sorted, other []Binding) bool {
	o := slices.Clone(other)
	sortBindings(o)
	return slices.Equal(sorted, o)
}

// Close removes every forward and waits for the forwarding goroutines to
// end. The Forwarder cannot be used afterwards.
func (f *Forwarder) Close() error {
	f.mu.Lock()
	f.closed = true
	all := f.containers
	f.containers = map[string]*containerForwards{}
	f.mu.Unlock()
	for _, cf := range all {
		for _, l := range cf.listeners {
			l.close()
		}
	}
	f.cancel()
	f.wg.Wait()
	return nil
}

// short is the 12-character form of a container id used in messages.
func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// Probe reports whether bindings could be published now, with the same
// checks and errors as Add, and releases what it bound at once. The CLI can
// call it before starting a container so that a host port in use fails
// `run` with docker's message before the container starts; the machine
// daemon's Add remains the real (and race-free) allocation.
func Probe(ctx context.Context, bindings []Binding, opts ...Option) error {
	f := New(func(context.Context, string, string, uint16) (net.Conn, error) {
		return nil, errkind.New(errdefs.ErrUnavailable, "probe only")
	}, opts...)
	defer f.Close()
	_, err := f.Add(ctx, "probe", bindings)
	return err
}
