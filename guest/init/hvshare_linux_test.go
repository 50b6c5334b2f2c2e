//go:build linux

package guestinit

import (
	"context"
	"io"
	"net"
	"testing"
	"time"
)

func TestPlan9Options(t *testing.T) {
	for _, tc := range []struct {
		fd    int
		aname string
		want  string
	}{
		{3, "share0", "trans=fd,rfdno=3,wfdno=3,msize=65536,version=9p2000.L,aname=share0"},
		{17, "drive-c", "trans=fd,rfdno=17,wfdno=17,msize=65536,version=9p2000.L,aname=drive-c"},
	} {
		t.Run(tc.aname, func(t *testing.T) {
			if got := plan9Options(tc.fd, tc.aname); got != tc.want {
				t.Errorf("plan9Options(%d, %q) = %q, want %q", tc.fd, tc.aname, got, tc.want)
			}
		})
	}
}

// TestPrefixConn: the byte read ahead to see that the host took the
// connection comes first, then the rest of the stream; CloseWrite reaches
// the connection underneath (the peer reads EOF and can still answer).
func TestPrefixConn(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			peer <- nil
			return
		}
		defer c.Close()
		c.Write([]byte("ello"))
		b, _ := io.ReadAll(c) // until our CloseWrite
		c.Write([]byte("!"))
		c.(*net.TCPConn).CloseWrite()
		peer <- b
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p := &prefixConn{Conn: c, head: []byte("h")}
	got := make([]byte, 5)
	if _, err := io.ReadFull(p, got); err != nil || string(got) != "hello" {
		t.Fatalf("read %q, %v; want \"hello\"", got, err)
	}
	p.Write([]byte("req"))
	if err := p.CloseWrite(); err != nil {
		t.Fatalf("CloseWrite: %v", err)
	}
	rest, err := io.ReadAll(p)
	if err != nil || string(rest) != "!" {
		t.Fatalf("after CloseWrite read %q, %v; want \"!\"", rest, err)
	}
	if b := <-peer; string(b) != "req" {
		t.Fatalf("peer read %q, want \"req\"", b)
	}
}

// TestKeepHostConns plays the host of the berth.dial=host direction on
// TCP: the guest side keeps idleHostConns connections open; a connection
// the host writes to is served (here: echoed, first byte included) and
// replaced by a new idle one; one the host closes unused is replaced too.
func TestKeepHostConns(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dial := func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", ln.Addr().String())
	}
	echo := func(c net.Conn) {
		defer c.Close()
		io.Copy(c, c)
	}
	go keepHostConns(ctx, dial, echo)
	accept := func() net.Conn {
		t.Helper()
		ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
		c, err := ln.Accept()
		if err != nil {
			t.Fatalf("accept: %v", err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	var idle []net.Conn
	for range idleHostConns {
		idle = append(idle, accept())
	}
	// Used: echoed in full, and a replacement arrives.
	used := idle[0]
	if _, err := used.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	used.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, 4)
	if _, err := io.ReadFull(used, got); err != nil || string(got) != "ping" {
		t.Fatalf("echo = %q, %v; want \"ping\"", got, err)
	}
	accept()
	// Closed unused: replaced as well.
	idle[1].Close()
	accept()
	// No more than that: the pool stays at idleHostConns idle connections.
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(300 * time.Millisecond))
	if c, err := ln.Accept(); err == nil {
		c.Close()
		t.Fatal("an extra connection beyond the idle pool was opened")
	}
}
