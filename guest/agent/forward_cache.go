//go:build linux

package agent

import (
	"strconv"
	"sync"
	"time"
)

// targetCache remembers where the forward streams of a published port went,
// so that a burst of connections resolves the container once instead of
// asking its shim (another process) on every connection. Any container
// event empties it (a restart may change the address; a stop must refuse
// new streams), and an entry lives at most targetTTL in case an event was
// missed (a slow event subscriber loses events rather than stall the
// engine).
type targetCache struct {
	mu  sync.Mutex
	gen uint64 // bumped by every invalidation
	m   map[string]cachedTarget
	now func() time.Time
}

type cachedTarget struct {
	addr    string
	expires time.Time
}

// targetTTL bounds how long a resolved address is used without a fresh
// lookup.
const targetTTL = 10 * time.Second

func newTargetCache() *targetCache {
	return &targetCache{m: map[string]cachedTarget{}, now: time.Now}
}

func targetKey(ctr, proto string, port uint16) string {
	return proto + "/" + ctr + "/" + strconv.Itoa(int(port))
}

// resolve returns the address of the target, from the cache when it is
// fresh (cached true) or from r, whose answer is kept unless the cache was
// invalidated meanwhile.
func (tc *targetCache) resolve(r ForwardResolver, ctr, proto string, port uint16) (addr string, cached bool, err error) {
	key := targetKey(ctr, proto, port)
	tc.mu.Lock()
	e, ok := tc.m[key]
	gen := tc.gen
	tc.mu.Unlock()
	if ok && tc.now().Before(e.expires) {
		return e.addr, true, nil
	}
	addr, err = r.ForwardAddr(ctr, proto, port)
	if err != nil {
		return "", false, err
	}
	tc.mu.Lock()
	if tc.gen == gen {
		tc.m[key] = cachedTarget{addr: addr, expires: tc.now().Add(targetTTL)}
	}
	tc.mu.Unlock()
	return addr, false, nil
}

// forget drops one target (its address did not answer).
func (tc *targetCache) forget(ctr, proto string, port uint16) {
	tc.mu.Lock()
	delete(tc.m, targetKey(ctr, proto, port))
	tc.mu.Unlock()
}

// invalidate drops every target.
func (tc *targetCache) invalidate() {
	tc.mu.Lock()
	tc.gen++
	clear(tc.m)
	tc.mu.Unlock()
}

// follow empties the cache on every container or network event of bus
// (a network connect or disconnect changes addresses) until stop is
// closed. It is subscribed when it returns.
func (tc *targetCache) follow(bus *eventBus, stop <-chan struct{}) {
	ch, cancel := bus.subscribe()
	go func() {
		defer cancel()
		for {
			select {
			case <-stop:
				return
			case ev := <-ch:
				if ev.Type == "container" || ev.Type == "network" {
					tc.invalidate()
				}
			}
		}
	}()
}

// serverTargets holds one targetCache per Server that serves forward
// streams; it is dropped when the Server shuts down.
var serverTargets sync.Map // *Server -> *targetCache

// targets returns the Server's target cache, creating it on the first
// forward stream. It follows the Server's events from before it is shared,
// so no change can slip between the two.
func (s *Server) targets() *targetCache {
	if tc, ok := serverTargets.Load(s); ok {
		return tc.(*targetCache)
	}
	tc, stop := newTargetCache(), make(chan struct{})
	if s.events != nil {
		tc.follow(s.events, stop)
	}
	if prev, loaded := serverTargets.LoadOrStore(s, tc); loaded {
		close(stop)
		return prev.(*targetCache)
	}
	go func() {
		<-s.shutdown
		serverTargets.Delete(s)
		close(stop)
	}()
	return tc
}
