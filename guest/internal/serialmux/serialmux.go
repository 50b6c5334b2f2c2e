// Package serialmux is the guest side of the serial-port multiplexer: the
// agent's connections travel as yamux streams (the guest is the yamux
// server) over one virtio-serial port, for VMs without vsock (qemu
// without vhost-vsock).
//
// A serial port has no reset signal: after either side restarts, the
// port still holds what the old session left in flight, possibly half a
// frame. Each session therefore starts with a resynchronization made of
// 16-byte frames, "BRTHMUX" | type | nonce (8 bytes):
//
//	host  -> guest  'S' sync request, repeated until answered
//	guest -> host   'A' acknowledge, with the nonce of the S frame
//	host  -> guest  'G' go, with that nonce; yamux starts right after it
//
// The guest scans its input byte by byte for an S frame (so garbage
// before it, such as the tail of an old session, is skipped), answers it,
// then reads whole frames: another S frame is answered again, the G frame
// of the last answered nonce starts the session, anything else sends it
// back to scanning. A session ends when yamux fails (a host that restarted
// sends S frames, which yamux rejects at once: 'B' is no yamux version) or
// when the host closes the port; the guest then scans again. This matches
// host/transport's serial mux.
package serialmux

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/yamux"
)

const (
	magic    = "BRTHMUX"
	frameLen = len(magic) + 1 + 8
	typeSync = 'S'
	typeAck  = 'A'
	typeGo   = 'G'
)

func frame(typ byte, nonce []byte) []byte {
	f := append([]byte(magic), typ)
	return append(f, nonce...)
}

// Port is the serial port: a blocking byte stream. Read returning 0 bytes
// or io.EOF means the host is not connected (virtio-serial's behaviour).
type Port io.ReadWriter

// Serve runs sessions on port until ctx ends, handing every stream the
// host opens to handle (in its own goroutine; handle owns the conn).
func Serve(ctx context.Context, port Port, handle func(net.Conn)) error {
	f := newFeed(ctx, port)
	for ctx.Err() == nil {
		if err := f.sync(port); err != nil {
			continue
		}
		runSession(ctx, f, port, handle)
	}
	return ctx.Err()
}

// runSession serves one yamux session until it fails or the host hangs up.
func runSession(ctx context.Context, f *feed, port Port, handle func(net.Conn)) {
	cfg := yamux.DefaultConfig()
	cfg.LogOutput = io.Discard
	cfg.EnableKeepAlive = false // an idle VM sends nothing
	sc := &sessionConn{f: f, w: port, done: make(chan struct{})}
	s, err := yamux.Server(sc, cfg)
	if err != nil {
		return
	}
	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()
	for {
		c, err := s.Accept()
		if err != nil {
			s.Close()
			return
		}
		go handle(c)
	}
}

// sessionConn is one session's view of the port. Closing it ends only the
// session: the port stays open for the next one.
type sessionConn struct {
	f    *feed
	w    io.Writer
	once sync.Once
	done chan struct{}

	wmu  sync.Mutex
	hdr  []byte // a held data frame header (see Write)
	wbuf []byte
}

// yamux frames start with a 12-byte header (version, type, flags, stream
// id, length); type 0 is data.
const yamuxHeaderLen = 12

// isDataHeader reports whether b is exactly a yamux data frame header
// announcing a body.
func isDataHeader(b []byte) bool {
	return len(b) == yamuxHeaderLen && b[1] == 0 && binary.BigEndian.Uint32(b[8:]) > 0
}

func (c *sessionConn) Read(b []byte) (int, error) { return c.f.read(b, c.done) }

func (c *sessionConn) Write(b []byte) (int, error) {
	select {
	case <-c.done:
		return 0, io.ErrClosedPipe
	default:
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	// yamux's send loop writes a data frame's header and body with two
	// writes; each write to the port is its own virtio buffer and
	// notification, so the header is held and written with its body.
	if c.hdr != nil {
		c.wbuf = append(append(c.wbuf[:0], c.hdr...), b...)
		c.hdr = nil
		n, err := c.w.Write(c.wbuf)
		if cap(c.wbuf) > 64<<10 {
			c.wbuf = nil
		}
		return max(n-yamuxHeaderLen, 0), err
	}
	if isDataHeader(b) {
		c.hdr = append(make([]byte, 0, yamuxHeaderLen), b...)
		return len(b), nil
	}
	return c.w.Write(b)
}

func (c *sessionConn) Close() error {
	c.once.Do(func() { close(c.done) })
	return nil
}

// feed is the single reader of the port. Sessions come and go; the bytes
// they leave unread stay here for the next resynchronization.
type feed struct {
	ch   chan []byte // nil slice: the host hung up
	rest []byte
	stop <-chan struct{}
}

func newFeed(ctx context.Context, port Port) *feed {
	f := &feed{ch: make(chan []byte), stop: ctx.Done()}
	go func() {
		hung := false
		for ctx.Err() == nil {
			b := make([]byte, 32<<10)
			n, err := port.Read(b)
			if n > 0 {
				hung = false
				select {
				case f.ch <- b[:n]:
				case <-ctx.Done():
					return
				}
				continue
			}
			if err != nil && !errors.Is(err, io.EOF) && !isTemporary(err) {
				// A port that fails for good: report a hang-up and stop.
				select {
				case f.ch <- nil:
				case <-ctx.Done():
				}
				return
			}
			if !hung {
				hung = true
				select {
				case f.ch <- nil:
				case <-ctx.Done():
					return
				}
			}
			// No host on the other end: virtio-serial reads return at
			// once, so wait a little before asking again.
			time.Sleep(200 * time.Millisecond)
		}
	}()
	return f
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// read returns buffered bytes or the next chunk; io.EOF when the host hung
// up or done is closed.
func (f *feed) read(b []byte, done <-chan struct{}) (int, error) {
	if len(f.rest) == 0 {
		select {
		case chunk := <-f.ch:
			if chunk == nil {
				return 0, io.EOF
			}
			f.rest = chunk
		case <-done:
			return 0, io.EOF
		case <-f.stop:
			return 0, io.EOF
		}
	}
	n := copy(b, f.rest)
	f.rest = f.rest[n:]
	return n, nil
}

// readByte reads one byte for the resynchronization.
func (f *feed) readByte() (byte, error) {
	var b [1]byte
	_, err := f.read(b[:], nil)
	return b[0], err
}

// sync runs the guest's side of the resynchronization: it returns nil once
// the G frame has been read, with the session's first bytes left in f.
func (f *feed) sync(w io.Writer) error {
	var nonce []byte
	win := make([]byte, 0, frameLen)
	for {
		// Scan for an S frame.
		for nonce == nil {
			b, err := f.readByte()
			if err != nil {
				return err
			}
			if len(win) == frameLen {
				copy(win, win[1:])
				win = win[:frameLen-1]
			}
			win = append(win, b)
			if len(win) == frameLen && bytes.HasPrefix(win, []byte(magic)) && win[len(magic)] == typeSync {
				nonce = append([]byte(nil), win[len(magic)+1:]...)
				if _, err := w.Write(frame(typeAck, nonce)); err != nil {
					return err
				}
			}
		}
		// Whole frames: S again, or G.
		fr := make([]byte, frameLen)
		for i := range fr {
			b, err := f.readByte()
			if err != nil {
				return err
			}
			fr[i] = b
		}
		switch {
		case bytes.Equal(fr, frame(typeGo, nonce)):
			return nil
		case bytes.HasPrefix(fr, []byte(magic)) && fr[len(magic)] == typeSync:
			nonce = append([]byte(nil), fr[len(magic)+1:]...)
			if _, err := w.Write(frame(typeAck, nonce)); err != nil {
				return err
			}
		default:
			nonce, win = nil, win[:0]
		}
	}
}
