package forward

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containerd/log"
)

// maxDatagram is the largest datagram a 2-byte length can frame (and more
// than any UDP payload).
const maxDatagram = 1<<16 - 1

// udpWriteTimeout bounds one datagram's write to its stream, so that one
// stuck flow cannot stall the listener's other flows for long; the flow is
// dropped instead.
const udpWriteTimeout = 5 * time.Second

// udpListener reads datagrams on one host address and sends each client
// address's datagrams over that flow's own forward stream.
type udpListener struct {
	f      *Forwarder
	fwd    Forward
	pc     *net.UDPConn
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	closed bool
	flows  map[netip.AddrPort]*udpFlow
}

// udpFlow is one client address and its stream.
type udpFlow struct {
	client netip.AddrPort
	stream net.Conn
	last   atomic.Int64 // unix nanos of the last datagram either way
}

func (fl *udpFlow) touch() time.Time {
	now := time.Now()
	fl.last.Store(now.UnixNano())
	return now
}

func newUDPListener(f *Forwarder, fwd Forward, pc *net.UDPConn) *udpListener {
	ctx, cancel := context.WithCancel(f.ctx)
	return &udpListener{f: f, fwd: fwd, pc: pc, ctx: ctx, cancel: cancel, flows: map[netip.AddrPort]*udpFlow{}}
}

func (l *udpListener) forward() Forward { return l.fwd }

// serve reads datagrams until the socket is closed. One buffer serves every
// datagram: the payload is read after a 2-byte gap that then takes its
// length, and frame and payload go to the stream in one write.
func (l *udpListener) serve() {
	buf := make([]byte, 2+maxDatagram)
	for {
		n, from, err := l.pc.ReadFromUDPAddrPort(buf[2:])
		if err != nil {
			if l.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			if isConnRefused(err) {
				continue // an ICMP error for an earlier reply; not ours to act on
			}
			log.G(l.ctx).WithError(err).Warnf("port forward %s: read failed", l.fwd.Binding)
			continue
		}
		fl := l.flow(from)
		if fl == nil {
			continue // the container could not be reached; the datagram is dropped, as UDP allows
		}
		binary.BigEndian.PutUint16(buf, uint16(n))
		now := fl.touch()
		fl.stream.SetWriteDeadline(now.Add(udpWriteTimeout))
		if _, err := fl.stream.Write(buf[:2+n]); err != nil {
			log.G(l.ctx).WithError(err).Debugf("port forward %s: flow %s ended", l.fwd.Binding, from)
			l.drop(fl)
		}
	}
}

// flow returns the flow of client, opening its stream first if needed.
func (l *udpListener) flow(client netip.AddrPort) *udpFlow {
	l.mu.Lock()
	fl := l.flows[client]
	l.mu.Unlock()
	if fl != nil {
		return fl
	}
	s, err := l.f.dial(l.ctx, UDP, l.fwd.ContainerID, l.fwd.ContainerPort)
	if err != nil {
		log.G(l.ctx).WithError(err).Debugf("port forward %s: cannot reach container", l.fwd.Binding)
		return nil
	}
	fl = &udpFlow{client: client, stream: s}
	fl.touch()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		s.Close()
		return nil
	}
	l.flows[client] = fl
	l.mu.Unlock()
	l.f.wg.Add(1)
	go func() {
		defer l.f.wg.Done()
		l.replies(fl)
		l.drop(fl)
	}()
	return fl
}

// replies copies the flow's datagrams from the stream back to the client
// until the stream ends or the flow has been idle for the idle timeout.
// A read that times out in the middle of a frame resumes where it stopped.
func (l *udpListener) replies(fl *udpFlow) {
	idle := l.f.opts.udpIdle
	buf := make([]byte, 2+maxDatagram)
	got, need := 0, 2
	for {
		fl.stream.SetReadDeadline(time.Now().Add(idle))
		n, err := fl.stream.Read(buf[got:need])
		got += n
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) && time.Since(time.Unix(0, fl.last.Load())) < idle {
				continue
			}
			return
		}
		if got < need {
			continue
		}
		if need == 2 {
			need += int(binary.BigEndian.Uint16(buf))
			if need > 2 {
				continue
			}
		}
		fl.touch()
		if _, err := l.pc.WriteToUDPAddrPort(buf[2:need], fl.client); err != nil && !isConnRefused(err) {
			log.G(l.ctx).WithError(err).Debugf("port forward %s: reply to %s failed", l.fwd.Binding, fl.client)
		}
		got, need = 0, 2
	}
}

// drop forgets fl and closes its stream; the agent closes its socket.
func (l *udpListener) drop(fl *udpFlow) {
	l.mu.Lock()
	if l.flows[fl.client] == fl {
		delete(l.flows, fl.client)
	}
	l.mu.Unlock()
	fl.stream.Close()
}

// flowCount is the number of live flows (for tests).
func (l *udpListener) flowCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.flows)
}

// close stops reading and ends every flow.
func (l *udpListener) close() {
	l.mu.Lock()
	l.closed = true
	flows := l.flows
	l.flows = map[netip.AddrPort]*udpFlow{}
	l.mu.Unlock()
	l.cancel()
	l.pc.Close()
	for _, fl := range flows {
		fl.stream.Close()
	}
}
