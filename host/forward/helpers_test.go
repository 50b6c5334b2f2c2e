package forward

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/berth-dev/berth/host/transport"
	"github.com/berth-dev/berth/proto/stream"
)

// fakeAgent serves forward streams on a unix socket the way the agent does:
// it reads the header, looks the container up in targets and dials it.
type fakeAgent struct {
	targets  map[string]string // container id -> host of its ports
	ln       net.Listener
	streams  atomic.Int64 // streams (or handed-off connections) served
	open     atomic.Int64 // streams still open
	accepted atomic.Int64 // agent connections accepted
	// handoffStreams counts the tcp+fd streams open.
	handoffStreams atomic.Int64
	// handoffOnce makes a tcp+fd stream end after one socket, as an agent
	// that restarts would.
	handoffOnce atomic.Bool
	wg          sync.WaitGroup
}

func startFakeAgent(t *testing.T, targets map[string]string) *fakeAgent {
	t.Helper()
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "agent.sock"))
	if err != nil {
		t.Fatal(err)
	}
	a := &fakeAgent{targets: targets, ln: ln}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			a.accepted.Add(1)
			a.wg.Add(1)
			go func() { defer a.wg.Done(); a.serve(c) }()
		}
	}()
	t.Cleanup(func() { ln.Close(); a.wg.Wait() })
	return a
}

func (a *fakeAgent) serve(c net.Conn) {
	defer c.Close()
	h, err := stream.Read(c)
	if err != nil || h.Kind != stream.KindForward {
		return
	}
	proto, ctr, port, err := ParseStreamID(h.ID)
	host, ok := a.targets[ctr]
	if err != nil || !ok {
		return
	}
	if proto == TCPHandoff {
		// Sockets handed over one after the other, until the host closes.
		a.handoffStreams.Add(1)
		defer func() { c.Close(); a.handoffStreams.Add(-1) }()
		for {
			hc, err := receiveTestConn(c)
			if err != nil {
				return
			}
			a.wg.Add(1)
			go func() { defer a.wg.Done(); a.serveTCP(hc, host, port) }()
			if a.handoffOnce.Load() {
				return
			}
		}
	}
	if proto == TCP {
		a.serveTCP(c, host, port)
		return
	}
	a.streams.Add(1)
	a.open.Add(1)
	defer a.open.Add(-1)
	t, err := net.Dial(proto, net.JoinHostPort(host, itoa(port)))
	if err != nil {
		return
	}
	defer t.Close()
	go func() {
		buf := make([]byte, 2+maxDatagram)
		for {
			n, err := t.Read(buf[2:])
			if err != nil {
				c.Close()
				return
			}
			binary.BigEndian.PutUint16(buf, uint16(n))
			c.Write(buf[:2+n])
		}
	}()
	buf := make([]byte, maxDatagram)
	for {
		if _, err := io.ReadFull(c, buf[:2]); err != nil {
			return
		}
		n := binary.BigEndian.Uint16(buf)
		if _, err := io.ReadFull(c, buf[:n]); err != nil {
			return
		}
		t.Write(buf[:n])
	}
}

// serveTCP relays c to port on host.
func (a *fakeAgent) serveTCP(c net.Conn, host string, port uint16) {
	defer c.Close()
	a.streams.Add(1)
	a.open.Add(1)
	defer a.open.Add(-1)
	t, err := net.Dial(TCP, net.JoinHostPort(host, itoa(port)))
	if err != nil {
		return
	}
	transport.Splice(c, t)
}

// dial connects to the fake agent's unix socket (no stream header).
func (a *fakeAgent) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", a.ln.Addr().String())
}

func (a *fakeAgent) dialer() DialFunc { return StreamDialer(a.dial) }

func itoa(p uint16) string { return strconv.Itoa(int(p)) }

// echoTCP serves an echo on 127.0.0.1 that half-closes after its input
// ends; it returns the port.
func echoTCP(t *testing.T) uint16 {
	t.Helper()
	return serveTCP(t, func(c *net.TCPConn) {
		io.Copy(c, c)
		c.CloseWrite()
	})
}

// serveTCP runs handle for each connection on a 127.0.0.1 listener.
func serveTCP(t *testing.T, handle func(*net.TCPConn)) uint16 {
	t.Helper()
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.AcceptTCP()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); defer c.Close(); handle(c) }()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return uint16(ln.Addr().(*net.TCPAddr).Port)
}

// echoUDP serves a UDP echo on 127.0.0.1.
func echoUDP(t *testing.T) uint16 {
	t.Helper()
	pc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, maxDatagram)
		for {
			n, from, err := pc.ReadFromUDPAddrPort(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			pc.WriteToUDPAddrPort(buf[:n], from)
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return uint16(pc.LocalAddr().(*net.UDPAddr).Port)
}

// freePort returns a port that was free on 127.0.0.1 a moment ago.
func freePort(t *testing.T) uint16 {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return uint16(ln.Addr().(*net.TCPAddr).Port)
}

// newForwarder returns a Forwarder closed at the end of the test.
func newForwarder(t *testing.T, dial DialFunc, opts ...Option) *Forwarder {
	t.Helper()
	f := New(dial, opts...)
	t.Cleanup(func() { f.Close() })
	return f
}
