package client

import (
	"context"
	"net"
	"time"
)

// earlyStreamMaxAge is how long a data stream reserved ahead of its use is
// used at all: the agent drops reservations nobody claims within 30 s, so
// an older one (a create that pulled, say) is closed and a fresh one
// opened.
const earlyStreamMaxAge = 10 * time.Second

// openedStream is the outcome of reserving and dialing a data stream.
type openedStream struct {
	conn net.Conn
	id   string
	err  error
	at   time.Time
}

// earlyStream is a data stream being opened in the background, so that its
// two round trips (System.OpenStream, dialing the daemon) overlap another
// call such as Containers.Create. nil means none: take opens one then.
type earlyStream <-chan openedStream

// openStreamEarly starts opening a data stream. Its owner must take or
// discard it.
func (a *agentConn) openStreamEarly(ctx context.Context) earlyStream {
	ch := make(chan openedStream, 1)
	go func() {
		conn, id, err := a.openStream(ctx)
		ch <- openedStream{conn: conn, id: id, err: err, at: time.Now()}
	}()
	return ch
}

// take returns the early stream, or a fresh one when there is none or it
// failed or is too old to be claimed safely.
func (e earlyStream) take(ctx context.Context, a *agentConn) (net.Conn, string, error) {
	if e != nil {
		s := <-e
		if s.err == nil && time.Since(s.at) < earlyStreamMaxAge {
			return s.conn, s.id, nil
		}
		if s.conn != nil {
			s.conn.Close()
		}
	}
	return a.openStream(ctx)
}

// discard closes the early stream once it is open; the agent drops the
// unclaimed reservation.
func (e earlyStream) discard() {
	if e == nil {
		return
	}
	if s := <-e; s.conn != nil {
		s.conn.Close()
	}
}
