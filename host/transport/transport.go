// Package transport carries bytes between the host and a machine's agent:
// dialing the agent's listener (a unix socket now; vsock, hvsock and a serial
// multiplexer later, all behind Dialer), retrying until it is ready, and
// splicing a client connection to an agent connection.
package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// Dialer opens a new connection to an agent. Each call returns a fresh,
// independent connection; it does not retry.
type Dialer interface {
	Dial(ctx context.Context) (net.Conn, error)
}

// DialFunc adapts a function to Dialer.
type DialFunc func(ctx context.Context) (net.Conn, error)

// Dial calls f.
func (f DialFunc) Dial(ctx context.Context) (net.Conn, error) { return f(ctx) }

// DefaultDialTimeout bounds one dial attempt when ctx has no earlier deadline.
const DefaultDialTimeout = 5 * time.Second

// Unix dials the unix socket at Path.
type Unix struct {
	Path string
	// Timeout bounds one attempt; zero means DefaultDialTimeout.
	Timeout time.Duration
}

// Dial connects to the socket.
func (u Unix) Dial(ctx context.Context) (net.Conn, error) {
	t := u.Timeout
	if t == 0 {
		t = DefaultDialTimeout
	}
	d := net.Dialer{Timeout: t}
	c, err := d.DialContext(ctx, "unix", u.Path)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", u.Path, err)
	}
	return c, nil
}

// retryInterval bounds how long Retry waits between attempts.
const (
	retryFirst = 10 * time.Millisecond
	retryMax   = 50 * time.Millisecond
)

// Retry dials d until a dial succeeds, ctx ends, or stop is closed (for
// example when the process that should listen has exited). It waits a little
// longer after each failure. On failure it returns the last dial error, so
// the caller can say why the agent never answered.
func Retry(ctx context.Context, d Dialer, stop <-chan struct{}) (net.Conn, error) {
	wait := retryFirst
	for {
		c, err := d.Dial(ctx)
		if err == nil {
			return c, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, errors.Join(ctx.Err(), err)
		case <-stop:
			t.Stop()
			return nil, err
		case <-t.C:
		}
		wait = min(wait*2, retryMax)
	}
}
