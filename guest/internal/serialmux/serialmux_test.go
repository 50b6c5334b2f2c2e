package serialmux

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/yamux"
)

// link is a serial port seen from both sides: the guest reads what the
// host wrote and the other way round. Host instances come and go over it
// like a machine daemon that restarts.
type link struct {
	gr *io.PipeReader // guest reads
	hw *io.PipeWriter // host writes
	hr *io.PipeReader // host reads
	gw *io.PipeWriter // guest writes
	hc chan []byte    // the host side's single reader
}

func newLink() *link {
	l := &link{hc: make(chan []byte)}
	l.gr, l.hw = io.Pipe()
	l.hr, l.gw = io.Pipe()
	go func() {
		for {
			b := make([]byte, 4096)
			n, err := l.hr.Read(b)
			if err != nil {
				close(l.hc)
				return
			}
			l.hc <- b[:n]
		}
	}()
	return l
}

type guestPort struct{ l *link }

func (p guestPort) Read(b []byte) (int, error)  { return p.l.gr.Read(b) }
func (p guestPort) Write(b []byte) (int, error) { return p.l.gw.Write(b) }

// hostConn is one host instance's connection; detach cuts it off.
type hostConn struct {
	l    *link
	rest []byte
	done chan struct{}
}

func (c *hostConn) Read(b []byte) (int, error) {
	if len(c.rest) == 0 {
		select {
		case x, ok := <-c.l.hc:
			if !ok {
				return 0, io.EOF
			}
			c.rest = x
		case <-c.done:
			return 0, io.EOF
		}
	}
	n := copy(b, c.rest)
	c.rest = c.rest[n:]
	return n, nil
}
func (c *hostConn) Write(b []byte) (int, error) { return c.l.hw.Write(b) }
func (c *hostConn) Close() error                { return nil }
func (c *hostConn) detach()                     { close(c.done) }

// hostSync is the host's side of the handshake (as host/transport does it).
func hostSync(t *testing.T, c *hostConn, nonce []byte) {
	t.Helper()
	found := make(chan error, 1)
	go func() {
		br := bufio.NewReader(c)
		want := frame(typeAck, nonce)
		var win []byte
		for {
			b, err := br.ReadByte()
			if err != nil {
				found <- err
				return
			}
			win = append(win, b)
			if len(win) > len(want) {
				win = win[1:]
			}
			if bytes.Equal(win, want) {
				c.rest = append(readAll(br), c.rest...)
				found <- nil
				return
			}
		}
	}()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := c.Write(frame(typeSync, nonce)); err != nil {
			t.Fatalf("write sync frame: %v", err)
		}
		select {
		case err := <-found:
			if err != nil {
				t.Fatalf("host sync: %v", err)
			}
			if _, err := c.Write(frame(typeGo, nonce)); err != nil {
				t.Fatalf("write go frame: %v", err)
			}
			return
		case <-tick.C:
		case <-time.After(10 * time.Second):
			t.Fatal("guest never acknowledged")
		}
	}
}

func readAll(br *bufio.Reader) []byte {
	b := make([]byte, br.Buffered())
	io.ReadFull(br, b)
	return b
}

func echo(c net.Conn) { io.Copy(c, c); c.Close() }

func startGuest(t *testing.T, l *link) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Serve(ctx, guestPort{l}, echo); close(done) }()
	t.Cleanup(func() { cancel(); l.hw.Close(); l.gw.Close(); <-done })
}

func roundTrip(t *testing.T, s *yamux.Session, msg string) {
	t.Helper()
	st, err := s.Open()
	if err != nil {
		t.Fatalf("open stream: %v", err)
	}
	defer st.Close()
	st.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := st.Write([]byte(msg)); err != nil {
		t.Fatalf("write: %v", err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(st, got); err != nil {
		t.Fatalf("read echo: %v", err)
	}
	if string(got) != msg {
		t.Fatalf("echo = %q, want %q", got, msg)
	}
}

func newHost(t *testing.T, l *link, nonce string, garbage []byte) (*hostConn, *yamux.Session) {
	c := &hostConn{l: l, done: make(chan struct{})}
	if len(garbage) > 0 {
		c.Write(garbage)
	}
	hostSync(t, c, []byte(nonce))
	cfg := yamux.DefaultConfig()
	cfg.LogOutput = io.Discard
	s, err := yamux.Client(c, cfg)
	if err != nil {
		t.Fatalf("yamux client: %v", err)
	}
	return c, s
}

func TestServe(t *testing.T) {
	// A partial yamux data frame: 12-byte header announcing 40 bytes of
	// payload for stream 1, then only 5 of them (a host that died mid-frame).
	partial := make([]byte, 12)
	partial[1] = 0 // data
	binary.BigEndian.PutUint32(partial[4:], 1)
	binary.BigEndian.PutUint32(partial[8:], 40)
	partial = append(partial, "hello"...)

	tests := []struct {
		name    string
		garbage []byte // what the dead host left on the port
	}{
		{"stale bytes before sync", []byte("old session tail \x00\x01\x02BRTHMU")},
		{"restart mid-frame", partial},
		{"clean restart", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLink()
			startGuest(t, l)
			c1, s1 := newHost(t, l, "nonce-01", []byte("boot noise"))
			roundTrip(t, s1, "first host")
			c1.detach()
			_, s2 := newHost(t, l, "nonce-02", tc.garbage)
			roundTrip(t, s2, "second host")
			roundTrip(t, s2, "second stream")
		})
	}
}
