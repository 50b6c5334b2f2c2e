//go:build linux

package guestinit

import (
	"context"
	"io"
	"net"
	"time"

	"github.com/mdlayher/vsock"
)

// The berth.dial=host direction (the hcs driver's transport.GuestDials):
// the host listens on the agent's port and the guest connects to it. The
// guest keeps idleHostConns connections open towards the host; the host
// takes one for each of its "dials" and writes the stream header on it.
// When the first byte arrives the connection is taken: another one is
// opened in its place, and this one is spliced to the engine's socket.
const (
	idleHostConns = 4
	// hostRetryMax bounds the wait between connects while the host does
	// not listen (the daemon is restarting, or not there yet).
	hostRetryMax = time.Second
)

// dialHost keeps idleHostConns connections open to the host's vsock port
// until ctx ends, each spliced to the engine once the host uses it.
func dialHost(ctx context.Context, port uint32) {
	logf("agent connections dialed to the host (vsock port %d)", port)
	dial := func(ctx context.Context) (net.Conn, error) { return vsock.DialContext(ctx, vsock.Host, port, nil) }
	keepHostConns(ctx, dial, proxyToEngine)
}

// keepHostConns keeps idleHostConns connections made by dial open until
// ctx ends, and hands each to serve once the host has used it.
func keepHostConns(ctx context.Context, dial func(context.Context) (net.Conn, error), serve func(net.Conn)) {
	slots := make(chan struct{}, idleHostConns)
	for range idleHostConns {
		slots <- struct{}{}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-slots:
		}
		go hostConn(ctx, dial, serve, func() { slots <- struct{}{} })
	}
}

// hostConn connects once to the host, waits until the host uses the
// connection, calls release (so that another idle connection is opened)
// and serves the connection (first byte included).
func hostConn(ctx context.Context, dial func(context.Context) (net.Conn, error), serve func(net.Conn), release func()) {
	c := dialHostRetry(ctx, dial)
	if c == nil {
		return // ctx ended
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	opened := time.Now()
	first := make([]byte, 1)
	if _, err := io.ReadFull(c, first); err != nil {
		// The host closed it unused (its listener went away): open another,
		// without spinning when the host closes every connection at once.
		c.Close()
		if time.Since(opened) < time.Second {
			time.Sleep(200 * time.Millisecond)
		}
		release()
		return
	}
	release()
	stop() // the connection now lives until serve is done with it
	serve(&prefixConn{Conn: c, head: first})
}

// dialHostRetry dials the host, retrying with a growing pause until it
// succeeds or ctx ends (then it returns nil).
func dialHostRetry(ctx context.Context, dial func(context.Context) (net.Conn, error)) net.Conn {
	wait := 20 * time.Millisecond
	for ctx.Err() == nil {
		c, err := dial(ctx)
		if err == nil {
			return c
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, hostRetryMax)
	}
	return nil
}

// prefixConn is a connection whose first bytes were already read.
type prefixConn struct {
	net.Conn
	head []byte
}

// CloseWrite half-closes the connection (vsock and TCP connections can).
func (p *prefixConn) CloseWrite() error {
	if cw, ok := p.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return p.Conn.Close()
}

var _ net.Conn = (*prefixConn)(nil)

// Read returns the bytes read ahead first.
func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.head) > 0 {
		n := copy(b, p.head)
		p.head = p.head[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}
