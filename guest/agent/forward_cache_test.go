//go:build linux

package agent

import (
	"context"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"
)

// countingResolver sends every target to one host:port and counts lookups;
// during (if set) runs inside each lookup.
type countingResolver struct {
	mu     sync.Mutex
	addr   string
	calls  int
	during func()
}

func (r *countingResolver) ForwardAddr(_, _ string, _ uint16) (string, error) {
	r.mu.Lock()
	r.calls++
	addr, during := r.addr, r.during
	r.mu.Unlock()
	if during != nil {
		during()
	}
	return addr, nil
}

func (r *countingResolver) set(addr string) {
	r.mu.Lock()
	r.addr = addr
	r.mu.Unlock()
}

func (r *countingResolver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

func TestTargetCache(t *testing.T) {
	now := time.Unix(1700000000, 0)
	tests := []struct {
		name      string
		between   func(tc *targetCache, r *countingResolver) // after the first lookup
		wantCalls int                                        // after the second lookup
	}{
		{"second lookup is cached", func(*targetCache, *countingResolver) {}, 1},
		{"other port is not", nil, 2},
		{"invalidate", func(tc *targetCache, _ *countingResolver) { tc.invalidate() }, 2},
		{"forget", func(tc *targetCache, _ *countingResolver) { tc.forget("c1", "tcp", 80) }, 2},
		{"expired", func(tc *targetCache, _ *countingResolver) { now = now.Add(targetTTL) }, 2},
		{"invalidated during the first lookup", func(tc *targetCache, r *countingResolver) {}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc := newTargetCache()
			tc.now = func() time.Time { return now }
			r := &countingResolver{addr: "10.0.0.2:80"}
			if tt.name == "invalidated during the first lookup" {
				r.during = tc.invalidate
			}
			addr, cached, err := tc.resolve(r, "c1", "tcp", 80)
			if err != nil || cached || addr != "10.0.0.2:80" {
				t.Fatalf("first lookup: %q cached=%v %v", addr, cached, err)
			}
			r.during = nil
			port := uint16(80)
			if tt.between == nil {
				port = 81
			} else {
				tt.between(tc, r)
			}
			if _, _, err := tc.resolve(r, "c1", "tcp", port); err != nil {
				t.Fatal(err)
			}
			if got := r.count(); got != tt.wantCalls {
				t.Fatalf("resolver called %d times, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestTargetCacheFollowsEvents(t *testing.T) {
	tests := []struct {
		typ        string
		invalidate bool
	}{
		{"container", true},
		{"network", true},
		{"image", false},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			bus := newEventBus()
			stop := make(chan struct{})
			defer close(stop)
			tc := newTargetCache()
			tc.follow(bus, stop)
			r := &countingResolver{addr: "10.0.0.2:80"}
			tc.resolve(r, "c1", "tcp", 80)
			bus.publish(tt.typ, "start", "c1", nil)
			// A container event ends the follower's wait on the bus; a
			// later one of ours shows that the first was handled.
			bus.publish("container", "marker", "x", nil)
			deadline := time.Now().Add(30 * time.Second)
			for {
				tc.mu.Lock()
				gen := tc.gen
				tc.mu.Unlock()
				want := uint64(1)
				if tt.invalidate {
					want = 2
				}
				if gen == want {
					break
				}
				if gen > want || time.Now().After(deadline) {
					t.Fatalf("cache invalidated %d times after a %s event and a container event", gen, tt.typ)
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
}

// TestServeForwardCachedTargetMoved: a cached address that no longer
// answers (the container got another one) is resolved again, and the
// stream reaches the new address.
func TestServeForwardCachedTargetMoved(t *testing.T) {
	echo := func(c *net.TCPConn) { io.Copy(c, c) }
	oldLn, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	oldAddr := oldLn.Addr().String()
	go func() {
		for {
			c, err := oldLn.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); echo(c.(*net.TCPConn)) }()
		}
	}()
	newAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(int(tcpServer(t, echo))))
	r := &countingResolver{addr: oldAddr}
	tc := newTargetCache()
	roundTrip := func() {
		t.Helper()
		a, b := net.Pipe()
		defer a.Close()
		go serveForward(context.Background(), r, tc, "tcp/c1/80", b)
		a.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := a.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(a, make([]byte, 1)); err != nil {
			t.Fatalf("no echo through the forward: %v", err)
		}
	}
	roundTrip()
	roundTrip()
	if got := r.count(); got != 1 {
		t.Fatalf("resolver called %d times for two streams, want 1", got)
	}
	oldLn.Close()
	r.set(newAddr)
	roundTrip()
	if got := r.count(); got != 2 {
		t.Fatalf("resolver called %d times, want 2 (once more after the cached address refused)", got)
	}
}
