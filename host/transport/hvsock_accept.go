package transport

import (
	"context"
	"net"
	"sync"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/internal/errkind"
)

// HvsockAccept is the GuestDials direction: the host listens and the guest
// connects to it; Dial hands out the next connection the guest made. The
// guest keeps a few connections open towards the host and opens a new one
// each time one is taken. On Windows ListenHvsock makes one; NewAccept
// wraps any listener (tests use TCP).
type HvsockAccept struct {
	ln    net.Listener
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

var _ Dialer = (*HvsockAccept)(nil)

// NewAccept serves ln: each accepted connection waits for one Dial.
func NewAccept(ln net.Listener) *HvsockAccept {
	a := &HvsockAccept{ln: ln, conns: make(chan net.Conn), done: make(chan struct{})}
	go a.accept()
	return a
}

func (a *HvsockAccept) accept() {
	for {
		c, err := a.ln.Accept()
		if err != nil {
			a.Close()
			return
		}
		select {
		case a.conns <- c:
		case <-a.done:
			c.Close()
			return
		}
	}
}

// Dial returns the next connection the guest made, waiting until one
// arrives, ctx ends or the listener is closed.
func (a *HvsockAccept) Dial(ctx context.Context) (net.Conn, error) {
	select {
	case c := <-a.conns:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-a.done:
		return nil, errkind.New(errdefs.ErrUnavailable, "the agent's listener on the host is closed")
	}
}

// Close stops listening; waiting Dials fail.
func (a *HvsockAccept) Close() error {
	a.once.Do(func() {
		close(a.done)
		a.ln.Close()
	})
	return nil
}
