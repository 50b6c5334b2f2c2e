//go:build linux

package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/proto/stream"
)

// mapResolver resolves container ids to 127.0.0.1 and counts lookups.
type mapResolver map[string]string

func (m mapResolver) ForwardAddr(id, proto string, port uint16) (string, error) {
	host, ok := m[id]
	if !ok {
		return "", errdefs.ErrNotFound
	}
	return net.JoinHostPort(host, strconv.Itoa(int(port))), nil
}

// forwardServer accepts on a unix socket and serves each connection's
// forward stream with r, as dispatch does for KindForward.
func forwardServer(t *testing.T, r ForwardResolver) (dial func(id string) *net.UnixConn) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	serveConns(t, ln, func(c net.Conn) {
		h, err := stream.Read(c)
		if err != nil || h.Kind != stream.KindForward {
			c.Close()
			return
		}
		ServeForward(context.Background(), r, h.ID, c)
	})
	return func(id string) *net.UnixConn {
		t.Helper()
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		if err := stream.Write(c, stream.Header{Kind: stream.KindForward, ID: id}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c.(*net.UnixConn)
	}
}

// serveConns runs handle for each connection ln accepts, each on its own
// goroutine; at the end of the test it closes ln and waits for them.
func serveConns(t *testing.T, ln net.Listener, handle func(net.Conn)) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); handle(c) }()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
}

// tcpServer runs handle for each connection on 127.0.0.1 and returns the port.
func tcpServer(t *testing.T, handle func(*net.TCPConn)) uint16 {
	t.Helper()
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	serveConns(t, ln, func(c net.Conn) { defer c.Close(); handle(c.(*net.TCPConn)) })
	return uint16(ln.Addr().(*net.TCPAddr).Port)
}

func TestParseForwardID(t *testing.T) {
	tests := []struct {
		id    string
		proto string
		ctr   string
		port  uint16
		ok    bool
	}{
		{"tcp/abc/80", "tcp", "abc", 80, true},
		{"udp/0123456789ab/65535", "udp", "0123456789ab", 65535, true},
		{"tcp/abc/0", "", "", 0, false},
		{"tcp/abc/080", "", "", 0, false},
		{"tcp/abc/65536", "", "", 0, false},
		{"sctp/abc/80", "", "", 0, false},
		{"tcp//80", "", "", 0, false},
		{"tcp/a/b/80", "", "", 0, false},
		{"tcp/abc", "", "", 0, false},
		{"", "", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			proto, ctr, port, err := parseForwardID(tt.id)
			if (err == nil) != tt.ok || proto != tt.proto || ctr != tt.ctr || port != tt.port {
				t.Fatalf("parseForwardID(%q) = %q %q %d %v", tt.id, proto, ctr, port, err)
			}
			if err != nil && !errdefs.IsInvalidArgument(err) {
				t.Fatalf("error %v is not InvalidArgument", err)
			}
		})
	}
}

func TestServeForwardTCPIntegrityAndHalfClose(t *testing.T) {
	port := tcpServer(t, func(c *net.TCPConn) { io.Copy(c, c); c.CloseWrite() })
	dial := forwardServer(t, mapResolver{"c1": "127.0.0.1"})
	c := dial("tcp/c1/" + strconv.Itoa(int(port)))
	const size = 32 << 20
	sent := make(chan []byte, 1)
	go func() {
		h := sha256.New()
		buf := make([]byte, 32<<10)
		for i := 0; i < size; i += len(buf) {
			for j := range buf {
				buf[j] = byte(i/len(buf) + j*7)
			}
			h.Write(buf)
			c.Write(buf)
		}
		c.CloseWrite() // the echo server only ends after this half-close
		sent <- h.Sum(nil)
	}()
	h := sha256.New()
	n, err := io.Copy(h, c)
	if err != nil || n != size || !bytes.Equal(h.Sum(nil), <-sent) {
		t.Fatalf("echoed %d of %d bytes (err %v), or the data differs", n, size, err)
	}
}

// TestServeForwardTCPContainerReset: a container that resets the
// connection ends the stream, even though the host side is still open and
// silent (it waits for a reply that cannot come).
func TestServeForwardTCPContainerReset(t *testing.T) {
	port := tcpServer(t, func(c *net.TCPConn) {
		io.ReadFull(c, make([]byte, 1))
		c.SetLinger(0) // Close sends a reset
	})
	dial := forwardServer(t, mapResolver{"c1": "127.0.0.1"})
	c := dial("tcp/c1/" + strconv.Itoa(int(port)))
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.ReadAll(c); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("the stream stayed open after the container reset the connection")
	}
}

func TestServeForwardTCPServerHalfClose(t *testing.T) {
	got := make(chan string, 1)
	port := tcpServer(t, func(c *net.TCPConn) {
		c.Write([]byte("banner"))
		c.CloseWrite()
		b, _ := io.ReadAll(c)
		got <- string(b)
	})
	dial := forwardServer(t, mapResolver{"c1": "127.0.0.1"})
	c := dial("tcp/c1/" + strconv.Itoa(int(port)))
	if b, err := io.ReadAll(c); err != nil || string(b) != "banner" {
		t.Fatalf("read %q, %v; want banner then EOF", b, err)
	}
	c.Write([]byte("still open"))
	c.CloseWrite()
	if s := <-got; s != "still open" {
		t.Fatalf("server got %q after its half-close", s)
	}
}

func TestServeForwardUDP(t *testing.T) {
	pc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 1<<16)
		for {
			n, from, err := pc.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			pc.WriteToUDPAddrPort(buf[:n], from)
		}
	}()
	dial := forwardServer(t, mapResolver{"c1": "127.0.0.1"})
	c := dial("udp/c1/" + strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port))
	for _, msg := range [][]byte{[]byte("hello"), {}, bytes.Repeat([]byte("x"), 60000)} {
		frame := binary.BigEndian.AppendUint16(nil, uint16(len(msg)))
		if _, err := c.Write(append(frame, msg...)); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		var hdr [2]byte
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			t.Fatalf("reply header: %v", err)
		}
		reply := make([]byte, binary.BigEndian.Uint16(hdr[:]))
		if _, err := io.ReadFull(c, reply); err != nil || !bytes.Equal(reply, msg) {
			t.Fatalf("reply of %d bytes: got %d, %v", len(msg), len(reply), err)
		}
	}
}

func TestServeForwardUnreachableClosesWithoutReply(t *testing.T) {
	dial := forwardServer(t, mapResolver{"c1": "127.0.0.1"})
	ln, _ := net.Listen("tcp4", "127.0.0.1:0")
	refused := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	for _, id := range []string{"tcp/nosuch/80", "tcp/c1/" + strconv.Itoa(refused), "bogus", "udp/nosuch/53"} {
		t.Run(id, func(t *testing.T) {
			c := dial(id)
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			b, err := io.ReadAll(c)
			if err != nil || len(b) != 0 {
				t.Fatalf("stream %q: read %q, %v; want EOF at once", id, b, err)
			}
		})
	}
}

func TestServerServeForwardWithoutResolver(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	go (&Server{}).serveForward(context.Background(), "tcp/c1/80", b)
	a.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := a.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("read from a forward stream the server cannot resolve: %v, want EOF", err)
	}
}

func TestServeForwardHandoff(t *testing.T) {
	port := tcpServer(t, func(c *net.TCPConn) { io.Copy(c, c); c.CloseWrite() })
	dial := forwardServer(t, mapResolver{"c1": "127.0.0.1"})

	// Client connections accepted on the "host", handed to the agent one
	// after the other on one stream, which the host then closes.
	front, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer front.Close()
	s := dial("tcp+fd/c1/" + strconv.Itoa(int(port)))
	var clients []*net.TCPConn
	for range 3 {
		client, err := net.DialTCP("tcp4", nil, front.Addr().(*net.TCPAddr))
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close()
		accepted, err := front.AcceptTCP()
		if err != nil {
			t.Fatal(err)
		}
		f, err := accepted.File()
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.WriteMsgUnix([]byte{0}, syscall.UnixRights(int(f.Fd())), nil); err != nil {
			t.Fatal(err)
		}
		f.Close()
		accepted.Close()
		clients = append(clients, client)
	}
	s.Close()

	for i, client := range clients {
		msg := fmt.Sprintf("handed off %d", i)
		client.Write([]byte(msg))
		client.CloseWrite()
		client.SetReadDeadline(time.Now().Add(10 * time.Second))
		if b, err := io.ReadAll(client); err != nil || string(b) != msg {
			t.Fatalf("echo through handed-off connection %d: %q, %v", i, b, err)
		}
	}

	// A handoff stream without a socket is dropped.
	bare := dial("tcp+fd/c1/" + strconv.Itoa(int(port)))
	bare.Write([]byte{0})
	bare.SetReadDeadline(time.Now().Add(10 * time.Second))
	if b, err := io.ReadAll(bare); err != nil || len(b) != 0 {
		t.Fatalf("handoff without a socket: read %q, %v; want EOF", b, err)
	}
}
