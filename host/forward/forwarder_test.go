package forward

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/internal/testwait"
)

var ctx = context.Background()

// dialTCP connects to a published port on 127.0.0.1.
func dialTCP(t *testing.T, port uint16) *net.TCPConn {
	t.Helper()
	c, err := net.DialTCP("tcp4", nil, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(port)})
	if err != nil {
		t.Fatalf("dial published port %d: %v", port, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// publishOne adds one binding and returns the port bound on 127.0.0.1.
func publishOne(t *testing.T, f *Forwarder, id string, bd Binding) uint16 {
	t.Helper()
	fws, err := f.Add(ctx, id, []Binding{bd})
	if err != nil {
		t.Fatalf("Add(%s, %v): %v", id, bd, err)
	}
	for _, fw := range fws {
		if fw.HostIP == netip.MustParseAddr("127.0.0.1") {
			return fw.HostPort
		}
	}
	t.Fatalf("Add(%s, %v) bound %v, nothing on 127.0.0.1", id, bd, fws)
	return 0
}

func TestTCPIntegrity200MB(t *testing.T) {
	const size = 200 << 20
	agent := startFakeAgent(t, map[string]string{"c1": "127.0.0.1"})
	f := newForwarder(t, agent.dialer())
	port := publishOne(t, f, "c1", Binding{Proto: TCP, ContainerPort: echoTCP(t)})
	c := dialTCP(t, port)

	sent := make(chan []byte, 1)
	go func() {
		h := sha256.New()
		r := rand.New(rand.NewChaCha8([32]byte{1}))
		buf := make([]byte, 64<<10)
		for n := 0; n < size; n += len(buf) {
			for i := 0; i < len(buf); i += 8 {
				v := r.Uint64()
				for j := range 8 {
					buf[i+j] = byte(v >> (8 * j))
				}
			}
			h.Write(buf)
			if _, err := c.Write(buf); err != nil {
				t.Errorf("write: %v", err)
				break
			}
		}
		c.CloseWrite()
		sent <- h.Sum(nil)
	}()
	h := sha256.New()
	n, err := io.Copy(h, c)
	if err != nil {
		t.Fatalf("read echo: %v", err)
	}
	want := <-sent
	if n != size || !bytes.Equal(h.Sum(nil), want) {
		t.Fatalf("echoed %d bytes with sha256 %x, sent %d with %x", n, h.Sum(nil), size, want)
	}
}

func TestTCPHalfClose(t *testing.T) {
	// The server answers only after the request ends (client half-close),
	// then half-closes; the client can still send after that and the
	// server must receive it.
	late := make(chan string, 1)
	port := serveTCP(t, func(c *net.TCPConn) {
		req, _ := io.ReadAll(c)
		c.Write([]byte("got " + string(req)))
		c.CloseWrite()
		late <- "closed-early"
	})
	agent := startFakeAgent(t, map[string]string{"c1": "127.0.0.1"})
	f := newForwarder(t, agent.dialer())
	c := dialTCP(t, publishOne(t, f, "c1", Binding{Proto: TCP, ContainerPort: port}))
	c.Write([]byte("ping"))
	c.CloseWrite()
	resp, err := io.ReadAll(c)
	if err != nil || string(resp) != "got ping" {
		t.Fatalf("response %q, %v; want %q then EOF", resp, err, "got ping")
	}
	<-late

	// Server closes its write side first, then keeps reading.
	rx := make(chan string, 1)
	port2 := serveTCP(t, func(c *net.TCPConn) {
		c.Write([]byte("hello"))
		c.CloseWrite()
		b, _ := io.ReadAll(c)
		rx <- string(b)
	})
	f.Remove("c1")
	c2 := dialTCP(t, publishOne(t, f, "c1", Binding{Proto: TCP, ContainerPort: port2}))
	greeting, err := io.ReadAll(c2)
	if err != nil || string(greeting) != "hello" {
		t.Fatalf("greeting %q, %v; want hello then EOF", greeting, err)
	}
	c2.Write([]byte("after the server's half-close"))
	c2.CloseWrite()
	if got := <-rx; got != "after the server's half-close" {
		t.Fatalf("server received %q after its half-close", got)
	}
}

func TestUDPEchoAndIdleTimeout(t *testing.T) {
	agent := startFakeAgent(t, map[string]string{"c1": "127.0.0.1"})
	f := newForwarder(t, agent.dialer(), WithUDPIdleTimeout(200*time.Millisecond))
	port := publishOne(t, f, "c1", Binding{Proto: UDP, ContainerPort: echoUDP(t)})
	c, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(port)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tests := [][]byte{[]byte("hello"), {}, bytes.Repeat([]byte{7}, 60000)}
	buf := make([]byte, maxDatagram)
	for _, msg := range tests {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		n, err := c.Read(buf)
		if err != nil || !bytes.Equal(buf[:n], msg) {
			t.Fatalf("echo of %d bytes: got %d bytes, %v", len(msg), n, err)
		}
	}
	if got := agent.streams.Load(); got != 1 {
		t.Fatalf("%d streams for one client address, want 1", got)
	}
	l := f.containers["c1"].listeners[0].(*udpListener)
	waitFor(t, "idle UDP flow to be closed", func() bool { return l.flowCount() == 0 && agent.open.Load() == 0 })

	// A new datagram after the timeout opens a new flow.
	c.Write([]byte("again"))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "again" {
		t.Fatalf("echo after idle timeout: %q, %v", buf[:n], err)
	}
	if got := agent.streams.Load(); got != 2 {
		t.Fatalf("%d streams after the idle timeout, want 2", got)
	}
}

// waitFor polls cond with the project's generous deadline (testwait.For).
var waitFor = testwait.For

func TestPortInUseLeavesNothingBound(t *testing.T) {
	busy, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := uint16(busy.Addr().(*net.TCPAddr).Port)
	free := freePort(t)
	f := newForwarder(t, func(context.Context, string, string, uint16) (net.Conn, error) {
		return nil, errors.New("unused")
	})
	_, err = f.Add(ctx, "c1", []Binding{
		{Proto: TCP, HostPort: free, ContainerPort: 80},
		{Proto: UDP, HostPort: free, ContainerPort: 53},
		{Proto: TCP, HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: busyPort, ContainerPort: 81},
	})
	want := "Bind for 127.0.0.1:" + itoa(busyPort) + " failed: port is already allocated"
	if err == nil || err.Error() != want {
		t.Fatalf("Add with a busy port: %v, want %q", err, want)
	}
	if !errdefs.IsConflict(err) {
		t.Fatalf("error %v is not a conflict", err)
	}
	if got := f.List(); len(got) != 0 {
		t.Fatalf("List after failed Add = %v, want nothing", got)
	}
	for _, network := range []string{"tcp4", "udp4"} {
		addr := "127.0.0.1:" + itoa(free)
		var cl io.Closer
		if network == "tcp4" {
			cl, err = net.Listen(network, addr)
		} else {
			cl, err = net.ListenPacket(network, addr)
		}
		if err != nil {
			t.Fatalf("%s %s still bound after failed Add: %v", network, addr, err)
		}
		cl.Close()
	}

	// A port the Forwarder itself serves is refused the same way.
	if _, err := f.Add(ctx, "c2", []Binding{{Proto: TCP, HostPort: free, ContainerPort: 80}}); err != nil {
		t.Fatal(err)
	}
	_, err = f.Add(ctx, "c3", []Binding{{Proto: TCP, HostIP: netip.IPv4Unspecified(), HostPort: free, ContainerPort: 80}})
	if !errdefs.IsConflict(err) || !strings.Contains(err.Error(), "port is already allocated") {
		t.Fatalf("Add of 0.0.0.0:%d over 127.0.0.1:%d: %v, want already allocated", free, free, err)
	}
}

func TestRemoveClosesListenersAndConnections(t *testing.T) {
	agent := startFakeAgent(t, map[string]string{"c1": "127.0.0.1"})
	f := newForwarder(t, agent.dialer())
	port := publishOne(t, f, "c1", Binding{Proto: TCP, ContainerPort: echoTCP(t)})
	c := dialTCP(t, port)
	c.Write([]byte("x"))
	b := make([]byte, 1)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("echo before Remove: %v", err)
	}
	f.Remove("c1")
	if _, err := net.Dial("tcp4", "127.0.0.1:"+itoa(port)); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial after Remove: %v, want connection refused", err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(b); err == nil {
		t.Fatal("open connection still served after Remove")
	}
	if got := f.List(); len(got) != 0 {
		t.Fatalf("List after Remove = %v", got)
	}
	f.Remove("c1") // a second Remove is harmless
}

func TestEphemeralPortReported(t *testing.T) {
	agent := startFakeAgent(t, map[string]string{"c1": "127.0.0.1"})
	f := newForwarder(t, agent.dialer())
	fws, err := f.Add(ctx, "c1", []Binding{{Proto: TCP, ContainerPort: echoTCP(t)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(fws) == 0 {
		t.Fatal("Add bound nothing")
	}
	for _, fw := range fws {
		if fw.HostPort == 0 || fw.HostPort != fws[0].HostPort {
			t.Fatalf("Add = %v: want one real port on every default address", fws)
		}
		if fw.HostIP != netip.MustParseAddr("127.0.0.1") && fw.HostIP != netip.IPv6Loopback() {
			t.Fatalf("Add bound %v, want only loopback by default", fw.HostIP)
		}
	}
	if got := f.List(); len(got) != len(fws) || got[0] != fws[0] {
		t.Fatalf("List = %v, want %v", got, fws)
	}
	c := dialTCP(t, fws[0].HostPort)
	c.Write([]byte("hi"))
	c.CloseWrite()
	if b, _ := io.ReadAll(c); string(b) != "hi" {
		t.Fatalf("echo through ephemeral port: %q", b)
	}
	if len(fws) == 2 {
		c6, err := net.Dial("tcp6", net.JoinHostPort("::1", itoa(fws[0].HostPort)))
		if err != nil {
			t.Fatalf("dial ::1: %v", err)
		}
		c6.Close()
	}
}

func TestHostPortRangePicksFirstFree(t *testing.T) {
	var busy net.Listener
	var start uint16
	for range 20 { // find two consecutive free ports and occupy the first
		start = freePort(t)
		if start >= 65530 {
			continue
		}
		l, err := net.Listen("tcp4", "127.0.0.1:"+itoa(start))
		if err == nil {
			busy = l
			break
		}
	}
	if busy == nil {
		t.Fatal("no port to occupy")
	}
	defer busy.Close()
	f := newForwarder(t, nil)
	fws, err := f.Add(ctx, "c1", []Binding{{Proto: TCP, HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: start, HostPortEnd: start + 3, ContainerPort: 80}})
	if err != nil {
		t.Fatal(err)
	}
	if len(fws) != 1 || fws[0].HostPort <= start || fws[0].HostPort > start+3 || fws[0].HostPortEnd != 0 {
		t.Fatalf("Add of range %d-%d with %d busy = %v", start, start+3, start, fws)
	}
	_, err = f.Add(ctx, "c2", []Binding{{Proto: TCP, HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: start, HostPortEnd: start, ContainerPort: 80}})
	if !errdefs.IsConflict(err) {
		t.Fatalf("Add of a busy one-port range: %v, want conflict", err)
	}
}

func TestReconcile(t *testing.T) {
	f := newForwarder(t, nil)
	pa, pb, pc := freePort(t), freePort(t), freePort(t)
	lo := netip.MustParseAddr("127.0.0.1")
	bind := func(p uint16) []Binding { return []Binding{{Proto: TCP, HostIP: lo, HostPort: p, ContainerPort: 80}} }
	if err := f.Reconcile(ctx, map[string][]Binding{"a": bind(pa), "b": bind(pb)}); err != nil {
		t.Fatal(err)
	}
	assertForwards(t, f, map[string]uint16{"a": pa, "b": pb})
	if err := f.Reconcile(ctx, map[string][]Binding{"a": bind(pa), "b": bind(pb)}); err != nil {
		t.Fatalf("Reconcile with no change: %v", err)
	}
	assertForwards(t, f, map[string]uint16{"a": pa, "b": pb})
	if err := f.Reconcile(ctx, map[string][]Binding{"b": bind(pc), "c": bind(pa)}); err != nil {
		t.Fatal(err)
	}
	assertForwards(t, f, map[string]uint16{"b": pc, "c": pa})
	if err := f.Reconcile(ctx, nil); err != nil {
		t.Fatal(err)
	}
	assertForwards(t, f, map[string]uint16{})
}

func assertForwards(t *testing.T, f *Forwarder, want map[string]uint16) {
	t.Helper()
	got := map[string]uint16{}
	for _, fw := range f.List() {
		got[fw.ContainerID] = fw.HostPort
	}
	if len(got) != len(want) {
		t.Fatalf("forwards %v, want %v", got, want)
	}
	for id, p := range want {
		if got[id] != p {
			t.Fatalf("forwards %v, want %v", got, want)
		}
		l, err := net.Listen("tcp4", "127.0.0.1:"+itoa(p))
		if err == nil {
			l.Close()
			t.Fatalf("port %d of %s is not bound", p, id)
		}
	}
}

func TestDialFailureClosesClient(t *testing.T) {
	f := newForwarder(t, func(context.Context, string, string, uint16) (net.Conn, error) {
		return nil, errdefs.ErrNotFound
	})
	port := publishOne(t, f, "c1", Binding{Proto: TCP, ContainerPort: 80})
	c, err := net.DialTCP("tcp4", nil, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(port)})
	if err != nil {
		if errors.Is(err, syscall.ECONNRESET) {
			return // reset before connect returned: closed, as wanted
		}
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read from a forward whose container is unreachable: %v, want closed", err)
	}
}

func TestAddValidates(t *testing.T) {
	f := newForwarder(t, nil)
	tests := []struct {
		id   string
		b    Binding
		want error
	}{
		{"", Binding{Proto: TCP, ContainerPort: 80}, errdefs.ErrInvalidArgument},
		{"a/b", Binding{Proto: TCP, ContainerPort: 80}, errdefs.ErrInvalidArgument},
		{"c", Binding{Proto: "sctp", ContainerPort: 80}, errdefs.ErrInvalidArgument},
		{"c", Binding{Proto: TCP}, errdefs.ErrInvalidArgument},
		{"c", Binding{Proto: TCP, HostIP: netip.MustParseAddr("192.0.2.1"), ContainerPort: 80}, errdefs.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.b.String(), func(t *testing.T) {
			if _, err := f.Add(ctx, tt.id, []Binding{tt.b}); !errors.Is(err, tt.want) {
				t.Fatalf("Add(%q, %v) = %v, want %v", tt.id, tt.b, err, tt.want)
			}
		})
	}
	if _, err := f.Add(ctx, "dup", []Binding{{Proto: TCP, ContainerPort: 80}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Add(ctx, "dup", []Binding{{Proto: TCP, ContainerPort: 81}}); !errdefs.IsAlreadyExists(err) {
		t.Fatalf("second Add for one container: %v, want already exists", err)
	}
	f.Close()
	if _, err := f.Add(ctx, "late", []Binding{{Proto: TCP, ContainerPort: 80}}); !errdefs.IsUnavailable(err) {
		t.Fatalf("Add after Close: %v, want unavailable", err)
	}
}

func TestAddressChoice(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	tests := []struct {
		name string
		opts []Option
		ip   netip.Addr
		want []netip.Addr // nil: the defaults (127.0.0.1, and ::1 when the host has it)
	}{
		{"explicit address wins", nil, lo, []netip.Addr{lo}},
		{"changed default", []Option{WithDefaultAddrs(lo)}, netip.Addr{}, []netip.Addr{lo}},
		{"default loopbacks", nil, netip.Addr{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newForwarder(t, nil, tt.opts...)
			fws, err := f.Add(ctx, "c", []Binding{{Proto: UDP, HostIP: tt.ip, ContainerPort: 53}})
			if err != nil {
				t.Fatal(err)
			}
			var got []netip.Addr
			for _, fw := range fws {
				got = append(got, fw.HostIP)
			}
			want := tt.want
			if want == nil {
				want = []netip.Addr{lo}
				if l, err := net.ListenPacket("udp6", "[::1]:0"); err == nil {
					l.Close()
					want = append(want, netip.IPv6Loopback())
				}
			}
			if len(got) != len(want) {
				t.Fatalf("bound %v, want %v", got, want)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("bound %v, want %v", got, want)
				}
			}
		})
	}
}

func TestProbe(t *testing.T) {
	busy, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := uint16(busy.Addr().(*net.TCPAddr).Port)
	if err := Probe(ctx, []Binding{{Proto: TCP, HostPort: port, ContainerPort: 80}}); !errdefs.IsConflict(err) {
		t.Fatalf("Probe of a busy port: %v, want conflict", err)
	}
	free := freePort(t)
	if err := Probe(ctx, []Binding{{Proto: TCP, HostPort: free, ContainerPort: 80}}); err != nil {
		t.Fatalf("Probe of a free port: %v", err)
	}
	l, err := net.Listen("tcp4", "127.0.0.1:"+itoa(free))
	if err != nil {
		t.Fatalf("port %d still bound after Probe: %v", free, err)
	}
	l.Close()
}

func TestCloseEndsConnectionsAndFlows(t *testing.T) {
	agent := startFakeAgent(t, map[string]string{"c1": "127.0.0.1"})
	f := New(agent.dialer())
	lo := netip.MustParseAddr("127.0.0.1")
	fws, err := f.Add(ctx, "c1", []Binding{
		{Proto: TCP, HostIP: lo, ContainerPort: echoTCP(t)},
		{Proto: UDP, HostIP: lo, ContainerPort: echoUDP(t)},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := dialTCP(t, fws[0].HostPort)
	c.Write([]byte("x"))
	io.ReadFull(c, make([]byte, 1))
	u, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(fws[1].HostPort)})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	u.Write([]byte("y"))
	u.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := u.Read(make([]byte, 8)); err != nil {
		t.Fatalf("udp echo: %v", err)
	}
	f.Close() // returns only once every forwarding goroutine has ended
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connection after Close: %v, want closed", err)
	}
	waitFor(t, "agent streams to close", func() bool { return agent.open.Load() == 0 })
	if got := f.List(); len(got) != 0 {
		t.Fatalf("List after Close = %v", got)
	}
}
