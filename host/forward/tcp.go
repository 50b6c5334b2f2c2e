package forward

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/containerd/log"

	"github.com/berth-dev/berth/host/transport"
)

// tcpListener accepts connections on one host address and splices each to
// its own forward stream.
type tcpListener struct {
	f      *Forwarder
	fwd    Forward
	ln     *net.TCPListener
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]struct{}
}

func newTCPListener(f *Forwarder, fwd Forward, ln *net.TCPListener) *tcpListener {
	ctx, cancel := context.WithCancel(f.ctx)
	return &tcpListener{f: f, fwd: fwd, ln: ln, ctx: ctx, cancel: cancel, conns: map[net.Conn]struct{}{}}
}

func (l *tcpListener) forward() Forward { return l.fwd }

// serve accepts until the listener is closed. Transient accept errors (too
// many open files) are retried after a short pause, as net/http does.
func (l *tcpListener) serve() {
	var pause time.Duration
	for {
		c, err := l.ln.AcceptTCP()
		if err != nil {
			if l.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			pause = min(max(2*pause, 5*time.Millisecond), time.Second)
			log.G(l.ctx).WithError(err).Warnf("port forward %s: accept failed; retrying in %v", l.fwd.Binding, pause)
			select {
			case <-time.After(pause):
			case <-l.ctx.Done():
				return
			}
			continue
		}
		pause = 0
		if !l.track(c) {
			c.Close()
			return
		}
		l.f.wg.Add(1)
		go func() {
			defer l.f.wg.Done()
			defer l.untrack(c)
			l.handle(c)
		}()
	}
}

// handle opens the forward stream for c and copies both ways with
// half-close until both directions end.
func (l *tcpListener) handle(c *net.TCPConn) {
	if h := l.f.opts.handoff; h != nil {
		if err := h(l.ctx, l.fwd.ContainerID, l.fwd.ContainerPort, c); err != nil {
			log.G(l.ctx).WithError(err).Debugf("port forward %s: cannot hand the connection to the agent", l.fwd.Binding)
			c.SetLinger(0)
		}
		c.Close() // the agent has its own copy
		return
	}
	up, err := l.f.dial(l.ctx, TCP, l.fwd.ContainerID, l.fwd.ContainerPort)
	if err != nil {
		log.G(l.ctx).WithError(err).Debugf("port forward %s: cannot reach container", l.fwd.Binding)
		c.SetLinger(0) // reset, so the client sees the failure at once
		c.Close()
		return
	}
	if !l.track(up) {
		up.Close()
		c.Close()
		return
	}
	defer l.untrack(up)
	if err := transport.Splice(c, up); err != nil {
		log.G(l.ctx).WithError(err).Debugf("port forward %s: connection ended", l.fwd.Binding)
	}
}

func (l *tcpListener) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.conns[c] = struct{}{}
	return true
}

func (l *tcpListener) untrack(c net.Conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

// close stops accepting and ends every open connection.
func (l *tcpListener) close() {
	l.mu.Lock()
	l.closed = true
	conns := l.conns
	l.conns = map[net.Conn]struct{}{}
	l.mu.Unlock()
	l.cancel()
	l.ln.Close()
	for c := range conns {
		c.Close()
	}
}
