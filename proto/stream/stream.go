// Package stream is the small header that starts every connection to the
// agent, so that one listener carries both ttrpc and raw data streams
// (stdio, logs, image tarballs, port forwards). See proto/PROTOCOL.md.
package stream

import (
	"errors"
	"fmt"
	"io"
	"net"
)

// Magic opens every connection to the agent.
const Magic = "BRTH"

// Version is the header version this package writes and accepts.
const Version = 1

// MaxIDLen bounds the id carried in a header.
const MaxIDLen = 255

// Kind says what the rest of the connection carries.
type Kind uint8

const (
	// KindTTRPC: the connection carries ttrpc frames for the agent's services.
	KindTTRPC Kind = 1
	// KindData: the connection is a raw byte stream for the id that an
	// earlier System.OpenStream call returned.
	KindData Kind = 2
	// KindForward: the connection is a port-forward stream; the id names the
	// target ("tcp/<container>/<port>" or "udp/<container>/<port>").
	KindForward Kind = 3
	// KindDaemon: the connection is for the machine daemon itself, not the
	// agent: newline-delimited JSON requests and responses that let the CLI
	// synchronise port forwards (see proto/PROTOCOL.md). The daemon never
	// passes it on to the agent.
	KindDaemon Kind = 4
)

// maxKind is the highest kind this version knows.
const maxKind = KindDaemon

func (k Kind) String() string {
	switch k {
	case KindTTRPC:
		return "ttrpc"
	case KindData:
		return "data"
	case KindForward:
		return "forward"
	case KindDaemon:
		return "daemon"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Header is what a connection starts with.
type Header struct {
	Kind Kind
	ID   string
}

// ErrBadHeader is returned for a connection that does not start with a valid
// header (wrong magic, unknown version or kind, oversized id).
var ErrBadHeader = errors.New("bad stream header")

// Encode returns the wire form of h: "BRTH", version, kind, id length, id.
func (h Header) Encode() ([]byte, error) {
	if len(h.ID) > MaxIDLen {
		return nil, fmt.Errorf("%w: id is %d bytes, at most %d allowed", ErrBadHeader, len(h.ID), MaxIDLen)
	}
	if h.Kind < KindTTRPC || h.Kind > maxKind {
		return nil, fmt.Errorf("%w: unknown kind %d", ErrBadHeader, h.Kind)
	}
	b := make([]byte, 0, len(Magic)+3+len(h.ID))
	b = append(b, Magic...)
	b = append(b, Version, byte(h.Kind), byte(len(h.ID)))
	b = append(b, h.ID...)
	return b, nil
}

// Write writes h to w in one call.
func Write(w io.Writer, h Header) error {
	b, err := h.Encode()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// Read reads a header from r. It reads exactly the header's bytes, so the
// rest of r is the stream's payload.
func Read(r io.Reader) (Header, error) {
	var fixed [len(Magic) + 3]byte
	if _, err := io.ReadFull(r, fixed[:]); err != nil {
		return Header{}, fmt.Errorf("%w: %w", ErrBadHeader, err)
	}
	if string(fixed[:len(Magic)]) != Magic {
		return Header{}, fmt.Errorf("%w: wrong magic %q", ErrBadHeader, fixed[:len(Magic)])
	}
	if v := fixed[len(Magic)]; v != Version {
		return Header{}, fmt.Errorf("%w: version %d, want %d", ErrBadHeader, v, Version)
	}
	h := Header{Kind: Kind(fixed[len(Magic)+1])}
	if h.Kind < KindTTRPC || h.Kind > maxKind {
		return Header{}, fmt.Errorf("%w: unknown kind %d", ErrBadHeader, h.Kind)
	}
	id := make([]byte, fixed[len(Magic)+2])
	if _, err := io.ReadFull(r, id); err != nil {
		return Header{}, fmt.Errorf("%w: %w", ErrBadHeader, err)
	}
	h.ID = string(id)
	return h, nil
}

// Dial is a function that opens a new connection to the agent (directly or
// through the machine daemon); the header is not yet written.
type Dial func() (net.Conn, error)

// Open dials and writes h, returning the connection ready for payload.
func Open(dial Dial, h Header) (net.Conn, error) {
	c, err := dial()
	if err != nil {
		return nil, err
	}
	if err := Write(c, h); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
