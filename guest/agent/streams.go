//go:build linux

package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/containerd/errdefs"
)

// streamClaimTimeout is how long a reserved stream id waits for its
// connection, and a connection for its id, before either is dropped.
const streamClaimTimeout = 30 * time.Second

// streamRegistry pairs raw data connections with the calls that use them.
// System.OpenStream reserves an id; the client dials a connection that starts
// with a data header carrying the id; the call that names the id (Load, Save,
// attach, ...) waits for the connection.
type streamRegistry struct {
	mu      sync.Mutex
	pending map[string]*pendingStream
}

type pendingStream struct {
	ready   chan struct{} // closed when conn is set
	conn    net.Conn
	expires *time.Timer
	claimed bool
}

func newStreamRegistry() *streamRegistry {
	return &streamRegistry{pending: map[string]*pendingStream{}}
}

// reserve returns a fresh, unguessable stream id.
func (r *streamRegistry) reserve() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	id := hex.EncodeToString(b[:])
	r.mu.Lock()
	defer r.mu.Unlock()
	p := &pendingStream{ready: make(chan struct{})}
	p.expires = time.AfterFunc(streamClaimTimeout, func() { r.drop(id) })
	r.pending[id] = p
	return id
}

// deliver hands a connection that arrived with a data header to its id. An
// unknown id closes the connection.
func (r *streamRegistry) deliver(id string, c net.Conn) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.pending[id]
	if !ok || p.conn != nil {
		c.Close()
		return fmt.Errorf("data stream %q: %w", id, errdefs.ErrNotFound)
	}
	p.conn = c
	close(p.ready)
	return nil
}

// wait returns the connection for id once it has arrived. Each id can be
// waited for once.
func (r *streamRegistry) wait(ctx context.Context, id string) (net.Conn, error) {
	r.mu.Lock()
	p, ok := r.pending[id]
	if ok && p.claimed {
		ok = false
	}
	if ok {
		p.claimed = true
	}
	r.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("data stream %q: unknown or already used (call System.OpenStream first): %w", id, errdefs.ErrInvalidArgument)
	}
	select {
	case <-p.ready:
		r.mu.Lock()
		p.expires.Stop()
		delete(r.pending, id)
		c := p.conn
		r.mu.Unlock()
		if c == nil {
			return nil, fmt.Errorf("data stream %q: no connection arrived in %v: %w", id, streamClaimTimeout, errdefs.ErrUnavailable)
		}
		return c, nil
	case <-ctx.Done():
		r.drop(id)
		return nil, ctx.Err()
	}
}

func (r *streamRegistry) drop(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.pending[id]
	if !ok {
		return
	}
	p.expires.Stop()
	delete(r.pending, id)
	if p.conn != nil {
		p.conn.Close()
	} else {
		close(p.ready) // wake a waiter; it finds conn nil
	}
}
