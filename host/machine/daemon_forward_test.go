package machine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/forward"
	"github.com/berth-dev/berth/host/internal/errkind"
	"github.com/berth-dev/berth/internal/testwait"
)

// fakeSource is a containerSource over a map of containers, with events
// pushed by the test.
type fakeSource struct {
	mu         sync.Mutex
	containers map[string]published
	ports      []listeningPort
	portCalls  int
	events     chan [2]string
	subscribed chan struct{}
}

func newFakeSource() *fakeSource {
	return &fakeSource{containers: map[string]published{}, events: make(chan [2]string), subscribed: make(chan struct{}, 8)}
}

func (s *fakeSource) set(p published) {
	s.mu.Lock()
	s.containers[p.ID] = p
	s.mu.Unlock()
}

func (s *fakeSource) remove(id string) {
	s.mu.Lock()
	delete(s.containers, id)
	s.mu.Unlock()
}

func (s *fakeSource) Running(context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id, p := range s.containers {
		if p.Up {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

func (s *fakeSource) Published(_ context.Context, id string) (published, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.containers[id]
	if !ok {
		return published{}, errkind.New(errdefs.ErrNotFound, "No such container: %s", id)
	}
	return p, nil
}

func (s *fakeSource) Events(ctx context.Context, ready func(), fn func(id, action string)) error {
	s.mu.Lock()
	events := s.events
	s.mu.Unlock()
	ready()
	s.subscribed <- struct{}{}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-events:
			if !ok {
				return errors.New("agent went away")
			}
			fn(ev[0], ev[1])
		}
	}
}

func (s *fakeSource) ListeningPorts(context.Context) ([]listeningPort, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.portCalls++
	return append([]listeningPort(nil), s.ports...), nil
}

func (s *fakeSource) calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.portCalls
}

// testManager is a port manager on 127.0.0.1 whose streams go nowhere.
func testManager(t *testing.T, src containerSource, forwardAll bool) *portManager {
	t.Helper()
	f := forward.New(func(context.Context, string, string, uint16) (net.Conn, error) {
		return nil, errors.New("no agent in this test")
	}, forward.WithDefaultAddrs(netip.MustParseAddr("127.0.0.1")))
	pm := newPortManager(context.Background(), src, f, forwardAll)
	pm.pollEvery = 10 * time.Millisecond
	t.Cleanup(pm.Close)
	return pm
}

func bindings(t *testing.T, specs ...string) []forward.Binding {
	t.Helper()
	bs, err := forward.ParsePortSpecs(specs)
	if err != nil {
		t.Fatal(err)
	}
	return bs
}

// forwardsString is "id:proto/cport@port" for each forward, sorted.
func forwardsString(fws []forward.Forward) string {
	var s []string
	for _, f := range fws {
		s = append(s, fmt.Sprintf("%s:%s/%d@%d", f.ContainerID, f.Proto, f.ContainerPort, f.HostPort))
	}
	sort.Strings(s)
	return strings.Join(s, " ")
}

// freePort returns a TCP port free on 127.0.0.1 a moment ago.
func freePort(t *testing.T) uint16 {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port)
}

func TestPortManagerSync(t *testing.T) {
	src := newFakeSource()
	pm := testManager(t, src, false)
	ctx := context.Background()
	p := freePort(t)

	src.set(published{ID: "aaa", Up: true, Bindings: bindings(t, fmt.Sprintf("127.0.0.1:%d:80", p))})
	fws, err := pm.Sync(ctx, "aaa")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := forwardsString(fws), fmt.Sprintf("aaa:tcp/80@%d", p); got != want {
		t.Fatalf("forwards = %q, want %q", got, want)
	}
	// Syncing again changes nothing (the port stays bound, no rebind).
	if fws, err = pm.Sync(ctx, "aaa"); err != nil || len(fws) != 1 {
		t.Fatalf("second sync: %v %v", fws, err)
	}
	// A second container wanting the same port: docker's conflict.
	src.set(published{ID: "bbb", Up: true, Bindings: bindings(t, fmt.Sprintf("127.0.0.1:%d:80", p))})
	_, err = pm.Sync(ctx, "bbb")
	if !errdefs.IsConflict(err) || !strings.Contains(err.Error(), fmt.Sprintf("Bind for 127.0.0.1:%d failed: port is already allocated", p)) {
		t.Fatalf("conflict: got %v", err)
	}
	// Stopped: forwards go; the port is free again.
	src.set(published{ID: "aaa", Up: false, Bindings: bindings(t, fmt.Sprintf("127.0.0.1:%d:80", p))})
	if fws, err = pm.Sync(ctx, "aaa"); err != nil || len(fws) != 0 {
		t.Fatalf("stopped: %v %v", fws, err)
	}
	if _, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
		t.Fatal("the port still accepts after the container stopped")
	}
	if fws, err = pm.Sync(ctx, "bbb"); err != nil || len(fws) != 1 {
		t.Fatalf("bbb after aaa stopped: %v %v", fws, err)
	}
	// Removed: forwards go too.
	src.remove("bbb")
	if fws, err = pm.Sync(ctx, "bbb"); err != nil || len(fws) != 0 || len(pm.List()) != 0 {
		t.Fatalf("removed: %v %v, list %v", fws, err, pm.List())
	}
}

// TestPortManagerSyncRemovedByName: `rm -f web` syncs by the name the user
// gave, which the agent no longer resolves once the container is gone; the
// forwards of the removed container must still go at once.
func TestPortManagerSyncRemovedByName(t *testing.T) {
	src := newFakeSource()
	pm := testManager(t, src, false)
	ctx := context.Background()
	keep, gone := freePort(t), freePort(t)
	src.set(published{ID: "keep", Up: true, Bindings: bindings(t, fmt.Sprintf("127.0.0.1:%d:80", keep))})
	src.set(published{ID: "c0ffee", Up: true, Bindings: bindings(t, fmt.Sprintf("127.0.0.1:%d:80", gone))})
	for _, id := range []string{"keep", "c0ffee"} {
		if _, err := pm.Sync(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	src.remove("c0ffee")
	if fws, err := pm.Sync(ctx, "web"); err != nil || len(fws) != 0 {
		t.Fatalf("sync of a removed container by name: %v %v", fws, err)
	}
	if got, want := forwardsString(pm.List()), fmt.Sprintf("keep:tcp/80@%d", keep); got != want {
		t.Fatalf("forwards after rm = %q, want %q", got, want)
	}
	if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", gone)); err == nil {
		c.Close()
		t.Fatal("the removed container's port still accepts")
	}
}

func TestPortManagerHostNetworkDiscardsBindings(t *testing.T) {
	src := newFakeSource()
	pm := testManager(t, src, false)
	src.set(published{ID: "h", Up: true, HostNetwork: true, Bindings: bindings(t, "127.0.0.1::80")})
	fws, err := pm.Sync(context.Background(), "h")
	if err != nil || len(fws) != 0 {
		t.Fatalf("host network: %v %v", fws, err)
	}
	if src.calls() != 0 {
		t.Fatal("listening ports polled without forward-all")
	}
}

func TestPortManagerFollow(t *testing.T) {
	src := newFakeSource()
	pm := testManager(t, src, false)
	src.set(published{ID: "up1", Up: true, Bindings: bindings(t, "127.0.0.1::80")})
	src.set(published{ID: "down", Up: false, Bindings: bindings(t, "127.0.0.1::81")})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		pm.Follow(ctx)
	}()
	defer func() { cancel(); <-done }()

	// Subscribing reconciles: the running container is published.
	<-src.subscribed
	if got := forwardsString(pm.List()); !strings.HasPrefix(got, "up1:tcp/80@") || strings.Contains(got, " ") {
		t.Fatalf("after reconcile: %q", got)
	}
	// Events: a start publishes, a die removes.
	src.set(published{ID: "down", Up: true, Bindings: bindings(t, "127.0.0.1::81")})
	src.events <- [2]string{"down", "start"}
	src.set(published{ID: "up1", Up: false, Bindings: bindings(t, "127.0.0.1::80")})
	src.events <- [2]string{"up1", "die"}
	src.events <- [2]string{"up1", "exec_start"} // ignored, but proves the two before were handled
	if got := forwardsString(pm.List()); !strings.HasPrefix(got, "down:tcp/81@") || strings.Contains(got, " ") {
		t.Fatalf("after events: %q", got)
	}
	// The agent restarts (its event stream ends) with another container
	// running: the new subscription reconciles.
	src.remove("down")
	src.set(published{ID: "new", Up: true, Bindings: bindings(t, "127.0.0.1::82")})
	src.mu.Lock()
	close(src.events)
	src.events = make(chan [2]string)
	src.mu.Unlock()
	waitFor(t, func() bool {
		got := forwardsString(pm.List())
		return strings.HasPrefix(got, "new:tcp/82@") && !strings.Contains(got, " ")
	}, "reconcile after the agent's restart")
}

func TestPortManagerForwardAll(t *testing.T) {
	src := newFakeSource()
	pm := testManager(t, src, true)
	ctx := context.Background()
	p := freePort(t)
	src.ports = []listeningPort{{Proto: "tcp", Port: p}, {Proto: "tcp", Port: p}}

	// No host-network container: nothing polls.
	src.set(published{ID: "b", Up: true, Bindings: bindings(t, "127.0.0.1::80")})
	if _, err := pm.Sync(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := src.calls(); n != 0 {
		t.Fatalf("polled %d times without host-network containers", n)
	}
	// A host-network container runs: its namespace's ports are forwarded
	// on the same port of 127.0.0.1.
	src.set(published{ID: "h", Up: true, HostNetwork: true})
	if _, err := pm.Sync(ctx, "h"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		return strings.Contains(forwardsString(pm.List()), fmt.Sprintf("h:tcp/%d@%d", p, p))
	}, "host-network port forwarded")
	// It stops: the forward goes and polling stops.
	src.set(published{ID: "h", Up: false, HostNetwork: true})
	if _, err := pm.Sync(ctx, "h"); err != nil {
		t.Fatal(err)
	}
	if got := forwardsString(pm.List()); strings.Contains(got, "h:") {
		t.Fatalf("host-network forward left after stop: %q", got)
	}
	n := src.calls()
	time.Sleep(50 * time.Millisecond)
	if m := src.calls(); m > n+1 {
		t.Fatalf("still polling after the last host-network container stopped (%d -> %d calls)", n, m)
	}
}

func TestForwardAction(t *testing.T) {
	for _, tc := range []struct {
		action string
		want   bool
	}{
		{"start", true}, {"die", true}, {"destroy", true}, {"stop", true}, {"kill", true},
		{"pause", false}, {"exec_start", false}, {"attach", false}, {"create", false},
	} {
		t.Run(tc.action, func(t *testing.T) {
			if got := forwardAction(tc.action); got != tc.want {
				t.Fatalf("forwardAction(%q) = %v", tc.action, got)
			}
		})
	}
}

// waitFor polls cond with the project's generous deadline (testwait.For).
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	testwait.For(t, what, cond)
}

func TestDefaultForwardAddrs(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []string
		want string
		bad  bool
	}{
		{name: "none", want: "[]"},
		{name: "all interfaces", in: []string{"0.0.0.0", "::"}, want: "[0.0.0.0 ::]"},
		{name: "mapped", in: []string{"::ffff:127.0.0.1"}, want: "[127.0.0.1]"},
		{name: "bad", in: []string{"localhost"}, bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Config{Name: "m", ForwardAddresses: tc.in}.DefaultForwardAddrs()
			if tc.bad {
				if !errdefs.IsInvalidArgument(err) {
					t.Fatalf("got %v, want an invalid argument error", err)
				}
				return
			}
			if err != nil || fmt.Sprint(got) != tc.want {
				t.Fatalf("got %v %v, want %s", got, err, tc.want)
			}
		})
	}
}
