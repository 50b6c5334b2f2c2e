package transport

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// The serial multiplexer runs one yamux session (host = client, guest =
// server) over a byte stream that has no reset signal: a virtio-serial port
// keeps whatever the previous session left in flight when either side
// restarts. Before each session the two sides therefore resynchronize with
// 16-byte sync frames:
//
//	"BRTHMUX" | type (1 byte) | nonce (8 bytes)
//
// with type 'S' (host: sync request), 'A' (guest: acknowledge) and 'G'
// (host: go). The host picks a random nonce and sends S frames every
// syncInterval while it scans what it reads, byte by byte, for the A frame
// with its nonce (discarding anything else, such as the rest of an old
// session). It then sends one G frame and starts the yamux client right
// after it. The guest scans for any S frame, answers with the A frame of
// that nonce, then reads whole 16-byte frames: another S frame is answered
// again (with its nonce), the G frame of the last acknowledged nonce starts
// the yamux server on the bytes after it, and anything else sends it back
// to scanning. Whenever the guest starts scanning (at boot, after its
// agent restarted, after its session ended) it first sends one 'R' (reset)
// frame with a zero nonce; a host that is scanning answers it with an S
// frame at once instead of at its next tick, so a guest agent that comes
// up between two S frames is not kept waiting up to syncInterval. Because
// the frames begin with 'B' (0x42), a stale yamux session on either side
// fails at once on them (invalid protocol version): the R frame ends the
// host's old session, so its next Dial resynchronizes, and the host's S
// frames end the guest's old session, so it goes back to scanning.
//
// Note for the guest side: yamux closes the connection it runs on when
// the session ends; the guest must hand it a wrapper whose Close does not
// close the port, and keep reading the port after the session ended.
const (
	syncMagic     = "BRTHMUX"
	syncFrameLen  = len(syncMagic) + 1 + 8
	syncRequest   = 'S'
	syncAck       = 'A'
	syncGo        = 'G'
	syncReset     = 'R'
	defaultSyncTO = 2 * time.Second
)

// syncInterval is how often the host repeats its S frame while the guest
// has not answered (a variable for tests).
var syncInterval = 200 * time.Millisecond

// syncFrame returns the frame of type typ with nonce.
func syncFrame(typ byte, nonce []byte) []byte {
	f := make([]byte, 0, syncFrameLen)
	f = append(f, syncMagic...)
	f = append(f, typ)
	return append(f, nonce...)
}

// bufferedConn is a connection whose first bytes come from a reader that
// may hold what the handshake read past its last frame.
type bufferedConn struct {
	net.Conn
	r io.Reader
}

func (c *bufferedConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// hostSync runs the host's side of the resynchronization on c and returns
// the connection to run the yamux client on. It gives up at deadline; the
// caller closes c on error.
func hostSync(c net.Conn, deadline time.Time) (net.Conn, error) {
	nonce := make([]byte, 8)
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	if err := c.SetDeadline(deadline); err != nil {
		return nil, err
	}
	br := bufio.NewReader(c)
	found := make(chan error, 1)
	reset := make(chan struct{}, 1)
	onReset := func() {
		select {
		case reset <- struct{}{}:
		default:
		}
	}
	go func() { found <- scanFor(br, syncFrame(syncAck, nonce), onReset) }()

	syn := syncFrame(syncRequest, nonce)
	tick := time.NewTicker(syncInterval)
	defer tick.Stop()
	var err error
	for err == nil {
		if _, werr := c.Write(syn); werr != nil {
			// The read side reports the deadline; a write error is final.
			c.SetReadDeadline(time.Now())
			<-found
			return nil, fmt.Errorf("serial mux sync: %w", werr)
		}
		select {
		case err = <-found:
			if err == nil {
				return finishSync(c, br, nonce)
			}
		case <-tick.C:
		case <-reset: // the guest just started scanning: ask it now
		}
	}
	if errors.Is(err, io.EOF) {
		return nil, errors.New("serial mux sync: the port closed before the guest answered")
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return nil, errors.New("serial mux sync: the guest did not answer (agent not listening yet)")
	}
	return nil, fmt.Errorf("serial mux sync: %w", err)
}

// finishSync sends the go frame and clears the handshake's deadline.
func finishSync(c net.Conn, br *bufio.Reader, nonce []byte) (net.Conn, error) {
	if _, err := c.Write(syncFrame(syncGo, nonce)); err != nil {
		return nil, fmt.Errorf("serial mux sync: %w", err)
	}
	if err := c.SetDeadline(time.Time{}); err != nil {
		return nil, err
	}
	return &bufferedConn{Conn: c, r: &skipAcks{br: br, ack: syncFrame(syncAck, nonce)}}, nil
}

// skipAcks reads the guest's side of a new session. The guest answers
// every S frame it reads before the G frame, so when S frames crossed (a
// tick, or the answer to its reset frame, sent while its first A frame was
// on its way) more A frames of the same nonce come before its first yamux
// frame: skipAcks drops them. A yamux frame starts with its version, 0,
// never with the 'B' of a sync frame, so the first byte tells them apart.
type skipAcks struct {
	br   *bufio.Reader
	ack  []byte
	done bool
}

func (s *skipAcks) Read(p []byte) (int, error) {
	for !s.done {
		b, err := s.br.Peek(1)
		if err != nil {
			return 0, err
		}
		if b[0] != syncMagic[0] {
			s.done = true
			break
		}
		f, err := s.br.Peek(len(s.ack))
		if err != nil {
			return 0, err
		}
		if !bytes.Equal(f, s.ack) {
			s.done = true // not ours: let yamux fail on it
			break
		}
		s.br.Discard(len(f))
	}
	return s.br.Read(p)
}

// scanFor reads br until the bytes just read equal want.
func scanFor(br *bufio.Reader, want []byte, onReset func()) error {
	resetFrame := syncFrame(syncReset, make([]byte, 8))
	win := make([]byte, 0, len(want))
	for {
		b, err := br.ReadByte()
		if err != nil {
			return err
		}
		if len(win) == len(want) {
			copy(win, win[1:])
			win = win[:len(want)-1]
		}
		win = append(win, b)
		if bytes.Equal(win, want) {
			return nil
		}
		if onReset != nil && bytes.Equal(win, resetFrame) {
			onReset()
		}
	}
}
