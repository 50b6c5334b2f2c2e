//go:build linux

package main

import (
	"bytes"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/berth-dev/berth/host/forward"
)

// TestRealPath sends traffic through the Forwarder and the agent's real
// ServeForward (over a unix socket, with a stream header) to servers on
// 127.0.0.1: a 200 MB echo compared by sha256, a server half-close, and UDP
// datagrams.
func TestRealPath(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	echo := tcpEcho(t)
	udp := udpEcho(t)
	fws, cleanup, err := startPath("127.0.0.1", []forward.Binding{
		{Proto: forward.TCP, HostIP: lo, ContainerPort: echo},
		{Proto: forward.UDP, HostIP: lo, ContainerPort: udp},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	t.Run("tcp 200 MB", func(t *testing.T) {
		const size = 200 << 20
		c, err := net.Dial("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(fws[0].HostPort))))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		sent := make(chan []byte, 1)
		go func() {
			h := sha256.New()
			r := rand.New(rand.NewPCG(1, 2))
			buf := make([]byte, 1<<20)
			for n := 0; n < size; n += len(buf) {
				for i := range buf {
					buf[i] = byte(r.Uint32())
				}
				h.Write(buf)
				c.Write(buf)
			}
			c.(*net.TCPConn).CloseWrite()
			sent <- h.Sum(nil)
		}()
		h := sha256.New()
		n, err := io.Copy(h, c)
		if want := <-sent; err != nil || n != size || !bytes.Equal(h.Sum(nil), want) {
			t.Fatalf("echo: %d of %d bytes, err %v, sha256 equal %v", n, size, err, bytes.Equal(h.Sum(nil), want))
		}
	})
	t.Run("udp", func(t *testing.T) {
		c, err := net.Dial("udp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(fws[1].HostPort))))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		buf := make([]byte, 1<<16)
		for _, msg := range []string{"one", "", "three"} {
			c.Write([]byte(msg))
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			n, err := c.Read(buf)
			if err != nil || string(buf[:n]) != msg {
				t.Fatalf("udp echo of %q: %q, %v", msg, buf[:n], err)
			}
		}
	})
}

func tcpEcho(t *testing.T) uint16 {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
				c.(*net.TCPConn).CloseWrite()
			}()
		}
	}()
	return uint16(ln.Addr().(*net.TCPAddr).Port)
}

func udpEcho(t *testing.T) uint16 {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1<<16)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(buf[:n], from)
		}
	}()
	return uint16(pc.LocalAddr().(*net.UDPAddr).Port)
}

// TestHandoffPath checks a connection handed to the agent's real
// ServeForward (SCM_RIGHTS over the unix socket) end to end.
func TestHandoffPath(t *testing.T) {
	fws, cleanup, err := startPath("127.0.0.1", []forward.Binding{{Proto: forward.TCP, HostIP: netip.MustParseAddr("127.0.0.1"), ContainerPort: tcpEcho(t)}}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	c, err := net.Dial("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(fws[0].HostPort))))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want := bytes.Repeat([]byte("berth"), 1<<20)
	go func() { c.Write(want); c.(*net.TCPConn).CloseWrite() }()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("echo through a handed-off connection: %d of %d bytes, %v", len(got), len(want), err)
	}
}
