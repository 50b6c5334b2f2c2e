//go:build linux

package agent

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
)

// Forward streams (proto/stream KindForward) carry a published port's
// traffic from the host to a container. The id is "tcp/<container>/<port>"
// or "udp/<container>/<port>"; see proto/PROTOCOL.md and host/forward.

// ForwardResolver finds where a forward stream's target listens. The
// Containers service implements it: the container's address on its network
// joined with port, or 127.0.0.1:port for a --network host container. A
// container that does not exist or is not running is an error.
type ForwardResolver interface {
	ForwardAddr(containerID, proto string, port uint16) (string, error)
}

// forwardDialTimeout bounds dialing the container for one stream.
const forwardDialTimeout = 10 * time.Second

// serveForward serves one KindForward stream whose header carried id. The
// engine resolves targets once it implements ForwardResolver (the
// Containers service's part); until then, or while the engine is not
// open, forward streams are closed.
func (s *Server) serveForward(ctx context.Context, id string, c net.Conn) {
	var r ForwardResolver
	if s.engine != nil {
		r, _ = any(s.engine).(ForwardResolver)
	}
	if r == nil {
		log.G(ctx).Debugf("dropping forward stream %q: no container resolver", id)
		c.Close()
		return
	}
	serveForward(ctx, r, s.targets(), id, c)
}

// ServeForward serves one forward stream: it resolves the target named by
// id with r, dials it and copies until both sides are done, then closes c.
// A target that cannot be resolved or dialed closes c without a byte
// written. TCP is copied both ways with half-close; UDP datagrams are framed
// on c with a 2-byte big-endian length.
func ServeForward(ctx context.Context, r ForwardResolver, id string, c net.Conn) {
	serveForward(ctx, r, nil, id, c)
}

// serveForward is ServeForward resolving through tc when it is not nil.
func serveForward(ctx context.Context, r ForwardResolver, tc *targetCache, id string, c net.Conn) {
	defer c.Close()
	proto, ctr, port, err := parseForwardID(id)
	if err != nil {
		log.G(ctx).WithError(err).Debug("dropping forward stream")
		return
	}
	if proto == "tcp+fd" {
		serveHandoffs(ctx, r, tc, id, c)
		return
	}
	t, err := dialTarget(ctx, r, tc, ctr, proto, port)
	if err != nil {
		log.G(ctx).WithError(err).Debugf("forward stream %s: no target", id)
		return
	}
	defer t.Close()
	if proto == "udp" {
		err = forwardUDP(c, t)
	} else {
		err = forwardTCP(c, t)
	}
	if err != nil {
		log.G(ctx).WithError(err).Debugf("forward stream %s ended", id)
	}
}

// dialTarget resolves the target (through tc when it is not nil) and dials
// it. An address from the cache that does not answer is resolved afresh
// and dialed once more.
func dialTarget(ctx context.Context, r ForwardResolver, tc *targetCache, ctr, proto string, port uint16) (net.Conn, error) {
	resolve := func() (string, bool, error) {
		if tc == nil {
			addr, err := r.ForwardAddr(ctr, proto, port)
			return addr, false, err
		}
		return tc.resolve(r, ctr, proto, port)
	}
	addr, cached, err := resolve()
	if err != nil {
		return nil, err
	}
	t, err := dialForward(ctx, proto, addr)
	if err != nil && cached {
		tc.forget(ctr, proto, port)
		if addr, _, err = resolve(); err != nil {
			return nil, err
		}
		t, err = dialForward(ctx, proto, addr)
	}
	return t, err
}

func dialForward(ctx context.Context, proto, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, forwardDialTimeout)
	defer cancel()
	return (&net.Dialer{}).DialContext(ctx, proto, addr)
}

// parseForwardID reads "tcp|udp|tcp+fd/<container>/<port>".
func parseForwardID(id string) (proto, ctr string, port uint16, err error) {
	parts := strings.Split(id, "/")
	if len(parts) != 3 || (parts[0] != "tcp" && parts[0] != "udp" && parts[0] != "tcp+fd") || parts[1] == "" {
		return "", "", 0, fmt.Errorf("invalid forward stream id %q: want tcp|udp|tcp+fd/<container>/<port>: %w", id, errdefs.ErrInvalidArgument)
	}
	p, err := strconv.ParseUint(parts[2], 10, 16)
	if err != nil || p == 0 || parts[2][0] == '0' || parts[2][0] == '+' {
		return "", "", 0, fmt.Errorf("invalid forward stream id %q: bad port %q: %w", id, parts[2], errdefs.ErrInvalidArgument)
	}
	return parts[0], parts[1], uint16(p), nil
}

// serveHandoffs serves a "tcp+fd" stream: the host hands client sockets
// over on it, each as one byte carrying the socket, and keeps it open for
// the next ones (the first comes at once; the stream ends when the host
// closes it). Every socket received is relayed to a fresh connection to the
// target in its own goroutine, which ends with the connection.
func serveHandoffs(ctx context.Context, r ForwardResolver, tc *targetCache, id string, c net.Conn) {
	_, ctr, port, _ := parseForwardID(id)
	uc, ok := c.(*net.UnixConn)
	if !ok {
		log.G(ctx).Debugf("forward stream %s: a handed-off connection needs a unix socket, not %T", id, c)
		return
	}
	deadline := time.Now().Add(forwardDialTimeout)
	for n := 0; ; n++ {
		conn, err := receiveConn(uc, deadline)
		if err != nil {
			if n == 0 || !errors.Is(err, io.EOF) {
				log.G(ctx).WithError(err).Debugf("forward stream %s: no connection received", id)
			}
			return
		}
		deadline = time.Time{}
		go func() {
			defer conn.Close()
			t, err := dialTarget(ctx, r, tc, ctr, "tcp", port)
			if err != nil {
				log.G(ctx).WithError(err).Debugf("forward stream %s: no target", id)
				return
			}
			defer t.Close()
			if err := forwardTCP(conn, t); err != nil {
				log.G(ctx).WithError(err).Debugf("forward stream %s ended", id)
			}
		}()
	}
}

// receiveConn reads the one byte that carries a handed-off TCP socket
// (SCM_RIGHTS) from the unix stream uc, waiting until deadline (zero: no
// limit), and returns that socket. The host closing uc is io.EOF.
func receiveConn(uc *net.UnixConn, deadline time.Time) (net.Conn, error) {
	uc.SetReadDeadline(deadline)
	var b [1]byte
	oob := make([]byte, syscall.CmsgSpace(4*4))
	n, oobn, _, _, err := uc.ReadMsgUnix(b[:], oob)
	if err != nil {
		return nil, err
	}
	if n == 0 && oobn == 0 {
		return nil, io.EOF
	}
	msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, err
	}
	var fds []int
	for _, m := range msgs {
		if rights, err := syscall.ParseUnixRights(&m); err == nil {
			fds = append(fds, rights...)
		}
	}
	if len(fds) != 1 {
		for _, fd := range fds {
			syscall.Close(fd)
		}
		return nil, fmt.Errorf("want one socket, got %d: %w", len(fds), errdefs.ErrInvalidArgument)
	}
	f := os.NewFile(uintptr(fds[0]), "forwarded-conn")
	defer f.Close()
	conn, err := net.FileConn(f)
	if err != nil {
		return nil, err
	}
	if _, ok := conn.(*net.TCPConn); !ok {
		conn.Close()
		return nil, fmt.Errorf("handed-off socket is %T, not TCP: %w", conn, errdefs.ErrInvalidArgument)
	}
	return conn, nil
}

// forwardTCP copies a to b and b to a; when one source ends, the other
// side's write half is closed, and when one copy fails (a reset too) both
// connections are closed so the other copy ends too: a peer that reset
// must not leave the other waiting. Copies between *net.UnixConn or
// *net.TCPConn use splice.
func forwardTCP(a, b net.Conn) error {
	errc := make(chan error, 2)
	half := func(dst, src net.Conn) {
		_, err := io.Copy(dst, src)
		if cw, ok := dst.(interface{ CloseWrite() error }); ok && err == nil {
			err = cw.CloseWrite()
		} else if !ok {
			dst.Close()
		}
		errc <- err
	}
	go half(a, b)
	go half(b, a)
	err1 := <-errc
	if err1 != nil {
		a.Close()
		b.Close()
	}
	return errors.Join(quietForward(err1), quietForward(<-errc))
}

// forwardUDP relays datagrams between the framed stream c and the connected
// UDP socket u until c ends (the host closes it when the flow is idle).
func forwardUDP(c, u net.Conn) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 2+1<<16-1)
		for {
			n, err := u.Read(buf[2:])
			if err != nil {
				if errors.Is(err, syscall.ECONNREFUSED) {
					continue // nothing listens yet; later datagrams may find it
				}
				c.Close()
				return
			}
			binary.BigEndian.PutUint16(buf, uint16(n))
			if _, err := c.Write(buf[:2+n]); err != nil {
				u.Close()
				return
			}
		}
	}()
	buf := make([]byte, 1<<16-1)
	var err error
	for {
		if _, err = io.ReadFull(c, buf[:2]); err != nil {
			break
		}
		n := int(binary.BigEndian.Uint16(buf[:2]))
		if _, err = io.ReadFull(c, buf[:n]); err != nil {
			break
		}
		if _, werr := u.Write(buf[:n]); werr != nil && !errors.Is(werr, syscall.ECONNREFUSED) {
			err = werr
			break
		}
	}
	u.Close()
	wg.Wait()
	return quietForward(err)
}

// quietForward drops the errors that only mean the other side went away.
func quietForward(err error) error {
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return nil
	}
	return err
}
