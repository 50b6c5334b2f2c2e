package forward

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/internal/errkind"
	"github.com/berth-dev/berth/proto/stream"
)

// StreamID is the id of the KindForward stream header for a target:
// "tcp/<container>/<port>" or "udp/<container>/<port>".
func StreamID(proto, containerID string, port uint16) string {
	return proto + "/" + containerID + "/" + strconv.Itoa(int(port))
}

// ParseStreamID reads an id made by StreamID; proto is TCP, UDP or
// TCPHandoff.
func ParseStreamID(id string) (proto, containerID string, port uint16, err error) {
	parts := strings.Split(id, "/")
	if len(parts) != 3 || (parts[0] != TCP && parts[0] != UDP && parts[0] != TCPHandoff) || parts[1] == "" {
		return "", "", 0, errkind.New(errdefs.ErrInvalidArgument, "invalid forward stream id %q: want tcp|udp/<container>/<port>", id)
	}
	p, err := strconv.ParseUint(parts[2], 10, 16)
	if err != nil || p == 0 || parts[2][0] == '0' || parts[2][0] == '+' {
		return "", "", 0, errkind.New(errdefs.ErrInvalidArgument, "invalid forward stream id %q: bad port %q", id, parts[2])
	}
	return parts[0], parts[1], uint16(p), nil
}

// StreamDialer returns the DialFunc the machine daemon gives its Forwarder:
// each call opens a fresh agent connection with dial (for example a
// transport.Dialer's Dial) and writes the KindForward header. The
// connection is returned as dial made it, so copies can splice.
func StreamDialer(dial func(ctx context.Context) (net.Conn, error)) DialFunc {
	return func(ctx context.Context, proto, containerID string, port uint16) (net.Conn, error) {
		id := StreamID(proto, containerID, port)
		c, err := dial(ctx)
		if err != nil {
			return nil, fmt.Errorf("forward stream %s: %w", id, err)
		}
		if err := stream.Write(c, stream.Header{Kind: stream.KindForward, ID: id}); err != nil {
			c.Close()
			return nil, fmt.Errorf("forward stream %s: %w", id, err)
		}
		return c, nil
	}
}
