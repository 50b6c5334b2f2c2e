package transport

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/yamux"
)

// fakePort plays qemu's virtio-serial chardev: a unix socket the host
// connects to (one connection at a time) and a byte stream to the guest
// that outlives host connections. Bytes the guest writes while no host is
// connected are dropped.
type fakePort struct {
	ln    net.Listener
	guest net.Conn // the guest's end of the port
	host  net.Conn // qemu's end, relayed to the current connection

	mu  sync.Mutex
	cur net.Conn
}

func newFakePort(t *testing.T) *fakePort {
	t.Helper()
	path := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	g, h := net.Pipe()
	p := &fakePort{ln: ln, guest: g, host: h}
	go p.accept()
	go p.fromGuest()
	t.Cleanup(func() {
		ln.Close()
		g.Close()
		h.Close()
		p.dropHost()
	})
	return p
}

func (p *fakePort) path() string { return p.ln.Addr().String() }

func (p *fakePort) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.cur = c
		p.mu.Unlock()
		io.Copy(p.host, c) // host -> guest until the host goes away
		p.mu.Lock()
		if p.cur == c {
			p.cur = nil
		}
		p.mu.Unlock()
		c.Close()
	}
}

func (p *fakePort) fromGuest() {
	buf := make([]byte, 32<<10)
	for {
		n, err := p.host.Read(buf)
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cur != nil {
			p.cur.Write(buf[:n])
		}
		p.mu.Unlock()
	}
}

// dropHost closes the host's current connection, as if the host died.
func (p *fakePort) dropHost() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur != nil {
		p.cur.Close()
	}
}

// noClose keeps yamux from closing the port when a session ends.
type noClose struct{ io.ReadWriter }

func (noClose) Close() error { return nil }

// fakeGuest is the guest's side of the protocol: sync, then a yamux
// server that echoes every stream, back to sync when the session ends.
type fakeGuest struct {
	port    net.Conn
	started chan struct{} // one value per session
}

func runFakeGuest(port net.Conn) *fakeGuest {
	g := &fakeGuest{port: port, started: make(chan struct{}, 16)}
	go g.loop()
	return g
}

func (g *fakeGuest) loop() {
	br := bufio.NewReader(g.port)
	for {
		if _, err := g.port.Write(syncFrame(syncReset, make([]byte, 8))); err != nil {
			return
		}
		if err := guestSync(br, g.port); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) {
				return
			}
			continue
		}
		cfg := yamux.DefaultConfig()
		cfg.LogOutput = io.Discard
		sess, err := yamux.Server(noClose{struct {
			io.Reader
			io.Writer
		}{br, g.port}}, cfg)
		if err != nil {
			return
		}
		g.started <- struct{}{}
		for {
			s, err := sess.Accept()
			if err != nil {
				break
			}
			go func() {
				io.Copy(s, s)
				s.Close()
			}()
		}
		// A session that ended read a partial frame; the bufio reader
		// is still positioned in the byte stream.
	}
}

// restart plays an agent restart inside the guest: the new agent sends a
// reset frame and resynchronizes. (Here the old session only ends when the
// host's sync frames reach it, which is what the protocol relies on.)
func (g *fakeGuest) restart() {
	g.port.Write(syncFrame(syncReset, make([]byte, 8)))
}

// guestSync is the guest's side of the resynchronization.
func guestSync(br *bufio.Reader, w io.Writer) error {
	hdr := append([]byte(syncMagic), syncRequest)
	for {
		// Scan for "BRTHMUX" 'S', then read the nonce.
		if err := scanFor(br, hdr, nil); err != nil {
			return err
		}
		nonce := make([]byte, 8)
		if _, err := io.ReadFull(br, nonce); err != nil {
			return err
		}
	frames:
		for {
			if _, err := w.Write(syncFrame(syncAck, nonce)); err != nil {
				return err
			}
			f := make([]byte, syncFrameLen)
			if _, err := io.ReadFull(br, f); err != nil {
				return err
			}
			switch {
			case bytes.Equal(f, syncFrame(syncGo, nonce)):
				return nil
			case bytes.HasPrefix(f, hdr):
				copy(nonce, f[len(hdr):])
			default:
				break frames
			}
		}
	}
}

func echo(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatalf("write: %v", err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read: %v", err)
	}
	if string(got) != msg {
		t.Fatalf("echo = %q, want %q", got, msg)
	}
}

func dialRetry(t *testing.T, m *SerialMux) net.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Retry(ctx, m, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestSerialMuxStreams(t *testing.T) {
	p := newFakePort(t)
	// Stale bytes of an earlier session sit in the port before the guest runs.
	go p.guest.Write([]byte("\x00\x01garbage-from-before"))
	runFakeGuest(p.guest)
	m := NewSerialMux(Unix{Path: p.path()})
	defer m.Close()

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c, err := Retry(ctx, m, nil)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			msg := fmt.Sprintf("stream %d", i)
			c.Write([]byte(msg))
			c.(interface{ CloseWrite() error }).CloseWrite()
			got, err := io.ReadAll(c)
			if err == nil && string(got) != msg {
				err = fmt.Errorf("stream %d got %q", i, got)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("%v", err)
		}
	}
}

func TestSerialMuxReconnect(t *testing.T) {
	p := newFakePort(t)
	g := runFakeGuest(p.guest)
	m := NewSerialMux(Unix{Path: p.path()})
	defer m.Close()

	c := dialRetry(t, m)
	echo(t, c, "first")

	t.Run("HostConnectionDrops", func(t *testing.T) {
		// The host side loses its connection mid-session (the machine
		// daemon restarted): the guest is still in its old session.
		c := dialRetry(t, m)
		c.Write([]byte("half a fra")) // leave the guest mid-frame
		p.dropHost()
		c = dialRetry(t, m)
		echo(t, c, "after the host reconnected")
	})
	t.Run("GuestRestarts", func(t *testing.T) {
		// The guest's session ends (its agent restarted): its reset frame
		// ends the host's session, the next dial resynchronizes.
		n := len(g.started)
		g.restart()
		deadline := time.Now().Add(10 * time.Second)
		var err error
		for time.Now().Before(deadline) {
			var c net.Conn
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			c, err = Retry(ctx, m, nil)
			cancel()
			if err == nil {
				c.SetDeadline(time.Now().Add(2 * time.Second))
				_, err = c.Write([]byte("x"))
				b := make([]byte, 1)
				if err == nil {
					_, err = io.ReadFull(c, b)
				}
				c.Close()
				if err == nil && len(g.started) > n {
					break
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("no working stream after the guest restarted: %v", err)
		}
	})
}

func TestSerialMuxNoGuest(t *testing.T) {
	p := newFakePort(t) // nobody reads the port
	m := NewSerialMux(Unix{Path: p.path()}, WithSyncTimeout(300*time.Millisecond))
	defer m.Close()
	start := time.Now()
	_, err := m.Dial(context.Background())
	if err == nil {
		t.Fatalf("Dial without a guest succeeded")
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("Dial took %v; it must fail fast", time.Since(start))
	}
	m.Close()
	if _, err := m.Dial(context.Background()); !errors.Is(err, ErrMuxClosed) {
		t.Errorf("Dial after Close = %v, want ErrMuxClosed", err)
	}
}

func TestScanFor(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"BRTHMUXA12345678", true},
		{"xxBRTHBRTHMUXA12345678yy", true},
		{"BRTHMUXA1234567", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			err := scanFor(bufio.NewReader(bytes.NewReader([]byte(tt.in))), []byte("BRTHMUXA12345678"), nil)
			if got := err == nil; got != tt.want {
				t.Errorf("scanFor(%q) = %v, want found=%v", tt.in, err, tt.want)
			}
		})
	}
}

// TestHostSyncAnswersReset: a guest that starts scanning (its R frame) gets
// an S frame at once, not at the host's next tick: with the tick an hour
// away the handshake still completes.
func TestHostSyncAnswersReset(t *testing.T) {
	defer func(d time.Duration) { syncInterval = d }(syncInterval)
	syncInterval = time.Hour
	host, guest := net.Pipe()
	defer host.Close()
	defer guest.Close()
	guestErr := make(chan error, 1)
	go func() {
		frame := make([]byte, syncFrameLen)
		// The first S frame reaches a guest that is not scanning yet.
		if _, err := io.ReadFull(guest, frame); err != nil {
			guestErr <- err
			return
		}
		if _, err := guest.Write(syncFrame(syncReset, make([]byte, 8))); err != nil {
			guestErr <- err
			return
		}
		if _, err := io.ReadFull(guest, frame); err != nil {
			guestErr <- fmt.Errorf("no S frame after the reset: %w", err)
			return
		}
		if frame[len(syncMagic)] != syncRequest {
			guestErr <- fmt.Errorf("after the reset: frame %q, want an S frame", frame)
			return
		}
		if _, err := guest.Write(syncFrame(syncAck, frame[len(syncMagic)+1:])); err != nil {
			guestErr <- err
			return
		}
		_, err := io.ReadFull(guest, frame) // the G frame
		guestErr <- err
	}()
	if _, err := hostSync(host, time.Now().Add(time.Minute)); err != nil {
		t.Fatalf("hostSync: %v", err)
	}
	if err := <-guestErr; err != nil {
		t.Fatalf("guest: %v", err)
	}
}

// TestSkipAcks: A frames of the session's nonce before the first yamux
// frame are dropped (S frames crossed); anything else is passed on as is.
func TestSkipAcks(t *testing.T) {
	nonce := []byte("12345678")
	ack := syncFrame(syncAck, nonce)
	yamuxHdr := "\x00\x01\x00\x02rest"
	tests := []struct{ name, in, want string }{
		{"no extra acks", yamuxHdr, yamuxHdr},
		{"two extra acks", string(ack) + string(ack) + yamuxHdr, yamuxHdr},
		{"ack of another nonce stays", string(syncFrame(syncAck, []byte("87654321"))) + yamuxHdr,
			string(syncFrame(syncAck, []byte("87654321"))) + yamuxHdr},
		{"ack bytes inside the session stay", yamuxHdr + string(ack), yamuxHdr + string(ack)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &skipAcks{br: bufio.NewReader(bytes.NewReader([]byte(tt.in))), ack: ack}
			got, err := io.ReadAll(r)
			if err != nil || string(got) != tt.want {
				t.Errorf("read %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
