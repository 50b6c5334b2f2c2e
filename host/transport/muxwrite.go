package transport

import (
	"encoding/binary"
	"net"
	"sync"
)

// yamux frames start with a 12-byte header: version, type, flags (2),
// stream id (4), length (4). yamux's send loop writes a data frame's
// header and its body with two Write calls; on a virtio-serial port every
// write becomes its own buffer and notification (a VM exit), and the
// guest wakes up twice for one frame.
const (
	yamuxHeaderLen = 12
	yamuxTypeData  = 0
)

// frameConn joins a yamux data frame's header and body into one write
// (writev on a unix or TCP socket, one copied buffer otherwise), so a small
// frame crosses the port at once. Header-only frames (window updates,
// pings, SYN/FIN without data) go out as they are. It relies on the
// session's single send loop: the body of a data header is its very next
// Write.
type frameConn struct {
	net.Conn          // reads and everything else
	w        net.Conn // where writes go: the socket itself
	vectored bool     // w takes writev
	buf      []byte   // header+body when w does not take writev

	mu   sync.Mutex
	hdr  [yamuxHeaderLen]byte
	held bool
}

// newFrameConn wraps c, the connection a yamux session runs on, whose
// writes go to w (c itself, or the socket under a reading wrapper).
func newFrameConn(c, w net.Conn) *frameConn {
	fc := &frameConn{Conn: c, w: w}
	switch w.(type) {
	case *net.UnixConn, *net.TCPConn:
		fc.vectored = true
	}
	return fc
}

// isDataHeader reports whether b is exactly a data frame header announcing
// a body.
func isDataHeader(b []byte) bool {
	return len(b) == yamuxHeaderLen && b[1] == yamuxTypeData && binary.BigEndian.Uint32(b[8:]) > 0
}

// Write holds a data frame's header and writes it together with the next
// write, its body.
func (c *frameConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held {
		c.held = false
		var n int
		var err error
		if c.vectored {
			var n64 int64
			bufs := net.Buffers{c.hdr[:], b}
			n64, err = bufs.WriteTo(c.w)
			n = int(n64)
		} else {
			c.buf = append(append(c.buf[:0], c.hdr[:]...), b...)
			n, err = c.w.Write(c.buf)
			if cap(c.buf) > 64<<10 {
				c.buf = nil // a big frame's buffer is not kept
			}
		}
		return max(n-yamuxHeaderLen, 0), err
	}
	if isDataHeader(b) {
		copy(c.hdr[:], b)
		c.held = true
		return len(b), nil
	}
	return c.w.Write(b)
}
