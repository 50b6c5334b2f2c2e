//go:build unix

package forward

import (
	"context"
	"fmt"
	"net"
	"syscall"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/internal/errkind"
	"github.com/berth-dev/berth/proto/stream"
)

// UnixHandoff returns a HandoffFunc that opens an agent connection with
// dial, which must be a unix socket, writes the KindForward header for
// "tcp+fd/<container>/<port>" and then one byte carrying the client socket
// (SCM_RIGHTS).
func UnixHandoff(dial func(ctx context.Context) (net.Conn, error)) HandoffFunc {
	return func(ctx context.Context, containerID string, port uint16, c *net.TCPConn) error {
		id := StreamID(TCPHandoff, containerID, port)
		conn, err := dial(ctx)
		if err != nil {
			return fmt.Errorf("forward stream %s: %w", id, err)
		}
		defer conn.Close()
		uc, ok := conn.(*net.UnixConn)
		if !ok {
			return errkind.New(errdefs.ErrNotImplemented, "forward stream %s: handing off a connection needs a unix socket to the agent, not %T", id, conn)
		}
		// The header and the socket go in separate messages, so that the
		// agent's header read cannot swallow the socket.
		if err := stream.Write(uc, stream.Header{Kind: stream.KindForward, ID: id}); err != nil {
			return fmt.Errorf("forward stream %s: %w", id, err)
		}
		f, err := c.File()
		if err != nil {
			return fmt.Errorf("forward stream %s: %w", id, err)
		}
		defer f.Close()
		if _, _, err := uc.WriteMsgUnix([]byte{0}, syscall.UnixRights(int(f.Fd())), nil); err != nil {
			return fmt.Errorf("forward stream %s: pass the connection: %w", id, err)
		}
		return nil
	}
}
