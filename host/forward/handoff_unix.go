//go:build unix

package forward

import (
	"context"
	"fmt"
	"net"
	"sync"
	"syscall"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/internal/errkind"
	"github.com/berth-dev/berth/proto/stream"
)

// UnixHandoff returns a HandoffFunc that passes accepted connections to the
// agent over its unix socket (dial must return a *net.UnixConn). Each
// target has one agent connection, opened on first use with the
// KindForward header for "tcp+fd/<container>/<port>", that carries every
// client socket as one byte with the socket attached (SCM_RIGHTS): a new
// client costs one sendmsg, not a connection to the agent. A target's
// connection is closed when the ctx it was opened with ends (the listener
// closed) and opened again when sending on it fails (the agent restarted).
func UnixHandoff(dial func(ctx context.Context) (net.Conn, error)) HandoffFunc {
	p := &handoffPool{dial: dial, chans: map[string]*handoffChan{}}
	return p.handoff
}

// handoffPool holds the agent connections of UnixHandoff, one per target.
type handoffPool struct {
	dial func(ctx context.Context) (net.Conn, error)

	mu    sync.Mutex
	chans map[string]*handoffChan
}

// handoffChan is one target's agent connection.
type handoffChan struct {
	conn *net.UnixConn
	stop func() bool // unregisters the close at the end of the opening ctx
}

func (p *handoffPool) handoff(ctx context.Context, containerID string, port uint16, c *net.TCPConn) error {
	id := StreamID(TCPHandoff, containerID, port)
	for attempt := 0; ; attempt++ {
		ch, err := p.get(ctx, id)
		if err != nil {
			return fmt.Errorf("forward stream %s: %w", id, err)
		}
		err = sendConn(ch.conn, c)
		if err == nil {
			return nil
		}
		// The agent went away (a restart): the socket was not passed, so
		// one fresh connection may carry it.
		p.drop(id, ch)
		if attempt > 0 || ctx.Err() != nil {
			return fmt.Errorf("forward stream %s: pass the connection: %w", id, err)
		}
	}
}

// get returns the target's connection, opening it when there is none.
func (p *handoffPool) get(ctx context.Context, id string) (*handoffChan, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ch := p.chans[id]; ch != nil {
		return ch, nil
	}
	conn, err := p.dial(ctx)
	if err != nil {
		return nil, err
	}
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		conn.Close()
		return nil, errkind.New(errdefs.ErrNotImplemented, "handing off a connection needs a unix socket to the agent, not %T", conn)
	}
	// The header and the sockets go in separate messages, so that the
	// agent's header read cannot swallow a socket.
	if err := stream.Write(uc, stream.Header{Kind: stream.KindForward, ID: id}); err != nil {
		uc.Close()
		return nil, err
	}
	ch := &handoffChan{conn: uc}
	ch.stop = context.AfterFunc(ctx, func() { p.drop(id, ch) })
	p.chans[id] = ch
	return ch, nil
}

// drop closes ch and forgets it if it is still the target's connection.
func (p *handoffPool) drop(id string, ch *handoffChan) {
	p.mu.Lock()
	if p.chans[id] == ch {
		delete(p.chans, id)
	}
	p.mu.Unlock()
	ch.stop()
	ch.conn.Close()
}

// sendConn sends c's socket over uc as one byte with SCM_RIGHTS (without
// duplicating it first: the caller closes c afterwards).
func sendConn(uc *net.UnixConn, c *net.TCPConn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		_, _, serr = uc.WriteMsgUnix([]byte{0}, syscall.UnixRights(int(fd)), nil)
	}); err != nil {
		return err
	}
	return serr
}
