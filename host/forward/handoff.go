package forward

import (
	"context"
	"net"
)

// HandoffFunc passes an accepted TCP connection whole to the agent, which
// then serves it itself, so the host process leaves the data path (one
// relay instead of two). It is only possible when host and agent share a
// kernel (the native driver): UnixHandoff sends the socket over the agent's
// unix socket. On success the agent owns the connection and the Forwarder
// closes its copy; Remove and Close no longer reach it (it ends when the
// client or the container closes it).
type HandoffFunc func(ctx context.Context, containerID string, port uint16, c *net.TCPConn) error

// WithHandoff makes the Forwarder hand TCP connections to the agent with h
// instead of relaying them over a forward stream. UDP is always relayed.
func WithHandoff(h HandoffFunc) Option {
	return func(o *options) { o.handoff = h }
}

// TCPHandoff is the proto part of the forward stream id of a handed-off
// connection ("tcp+fd/<container>/<port>").
const TCPHandoff = "tcp+fd"
