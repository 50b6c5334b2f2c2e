package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/yamux"
)

// SerialMux dials agent connections as streams of one yamux session carried
// by a single byte stream, such as qemu's virtio-serial port exposed on the
// host as a unix socket (used when the host has no vhost-vsock). The host is
// the yamux client; the guest's port reader is the server and hands every
// stream it accepts to the agent as a connection. Each Dial opens a new
// stream; when the session dies (the guest rebooted, the agent restarted,
// the socket closed), the next Dial reconnects and resynchronizes (see the
// sync frames in serialmux_sync.go).
type SerialMux struct {
	connect  Dialer
	syncWait time.Duration
	cfg      *yamux.Config

	mu     sync.Mutex
	sess   *yamux.Session
	closed bool
}

// SerialMuxOption configures a SerialMux.
type SerialMuxOption func(*SerialMux)

// WithSyncTimeout bounds how long one Dial waits for the guest to answer
// the resynchronization of a new session (default 2s). A guest that does
// not answer in time is "not listening yet": Dial fails and the caller
// retries.
func WithSyncTimeout(d time.Duration) SerialMuxOption {
	return func(m *SerialMux) { m.syncWait = d }
}

// NewSerialMux returns a dialer that multiplexes over the byte streams
// connect opens (one at a time; a new one only after the last session died).
func NewSerialMux(connect Dialer, opts ...SerialMuxOption) *SerialMux {
	cfg := yamux.DefaultConfig()
	cfg.LogOutput = io.Discard
	// A ping every 30s wakes an idle guest rarely; the VM process exiting
	// (the common way a session dies) closes the mux at once anyway.
	cfg.KeepAliveInterval = 30 * time.Second
	cfg.ConnectionWriteTimeout = 10 * time.Second
	cfg.StreamOpenTimeout = 30 * time.Second
	cfg.StreamCloseTimeout = time.Minute
	m := &SerialMux{connect: connect, syncWait: defaultSyncTO, cfg: cfg}
	for _, o := range opts {
		o(m)
	}
	return m
}

// ErrMuxClosed is returned by Dial after Close.
var ErrMuxClosed = errors.New("serial mux closed")

// Dial opens a new stream to the agent, starting a session first when there
// is none. It fails fast when the guest does not answer.
func (m *SerialMux) Dial(ctx context.Context) (net.Conn, error) {
	for attempt := 0; ; attempt++ {
		sess, err := m.session(ctx)
		if err != nil {
			return nil, err
		}
		s, err := sess.OpenStream()
		if err == nil {
			return &muxConn{Stream: s}, nil
		}
		m.drop(sess)
		if attempt > 0 {
			return nil, fmt.Errorf("serial mux: open stream: %w", err)
		}
	}
}

// session returns the live session, making one when there is none.
func (m *SerialMux) session(ctx context.Context) (*yamux.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrMuxClosed
	}
	if m.sess != nil && !m.sess.IsClosed() {
		return m.sess, nil
	}
	m.sess = nil
	c, err := m.connect.Dial(ctx)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(m.syncWait)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	sc, err := hostSync(c, deadline)
	stop()
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	sess, err := yamux.Client(newFrameConn(sc, c), m.cfg)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("serial mux: %w", err)
	}
	m.sess = sess
	return sess, nil
}

// drop closes sess if it is still the current session.
func (m *SerialMux) drop(sess *yamux.Session) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sess == sess {
		m.sess = nil
	}
	sess.Close()
}

// Close ends the session and every stream; later Dials fail. It is
// idempotent.
func (m *SerialMux) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	if m.sess != nil {
		m.sess.Close()
		m.sess = nil
	}
	return nil
}

// muxConn is one stream. yamux's Close only ends the write direction
// (it sends FIN and reads on); muxConn offers that as CloseWrite, the way
// Splice half-closes, and makes Close end both directions for its user.
type muxConn struct {
	*yamux.Stream
	once   sync.Once
	closed atomic.Bool
}

// Read reads from the stream; after Close it fails with net.ErrClosed.
func (c *muxConn) Read(b []byte) (int, error) {
	n, err := c.Stream.Read(b)
	if err != nil && c.closed.Load() {
		err = net.ErrClosed
	}
	return n, err
}

// CloseWrite sends FIN: the guest reads EOF, replies still arrive.
func (c *muxConn) CloseWrite() error { return c.Stream.Close() }

// Close closes both directions: reads in progress return, and yamux
// resets the stream if the guest never closes its side.
func (c *muxConn) Close() error {
	c.once.Do(func() {
		c.closed.Store(true)
		c.Stream.Close()
		c.Stream.SetReadDeadline(time.Now())
	})
	return nil
}
