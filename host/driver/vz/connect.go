package vz

import (
	"context"
	"fmt"
	"net"
	"time"
)

// Connect timings. VZVirtioSocketDevice's connect may never call back while
// nothing listens on the port, so each attempt is bounded, and failed
// attempts are retried quickly for a short while: the agent's listener
// comes up a few milliseconds after its first answer would be useful.
const (
	attemptTimeout = 2 * time.Second
	retryEvery     = 20 * time.Millisecond
	dialWindow     = 1 * time.Second
)

// connectFunc is one connection attempt that may block forever.
type connectFunc func() (net.Conn, error)

type connResult struct {
	c   net.Conn
	err error
}

// connectOnce runs connect in its own goroutine and waits at most timeout
// (or until ctx ends). A connection that arrives after giving up is closed,
// so nothing leaks but the blocked goroutine itself, which ends when the
// framework calls back.
func connectOnce(ctx context.Context, connect connectFunc, timeout time.Duration) (net.Conn, error) {
	ch := make(chan connResult, 1)
	go func() {
		c, err := connect()
		ch <- connResult{c, err}
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case r := <-ch:
		return r.c, r.err
	case <-ctx.Done():
	case <-t.C:
	}
	go func() {
		if r := <-ch; r.c != nil {
			r.c.Close()
		}
	}()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return nil, fmt.Errorf("no answer within %v", timeout)
}

// connectRetry retries connectOnce every retryEvery for up to window, then
// returns the last error; it never waits past ctx.
func connectRetry(ctx context.Context, connect connectFunc, attempt, window, every time.Duration) (net.Conn, error) {
	deadline := time.Now().Add(window)
	for {
		c, err := connectOnce(ctx, connect, attempt)
		if err == nil {
			return c, nil
		}
		if ctx.Err() != nil || time.Now().Add(every).After(deadline) {
			return nil, err
		}
		t := time.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
	}
}
