//go:build windows

package forward

import (
	"context"
	"net"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/internal/errkind"
)

// UnixHandoff is not available on Windows (no descriptor passing); the
// HandoffFunc it returns always fails with errdefs.ErrNotImplemented.
func UnixHandoff(func(ctx context.Context) (net.Conn, error)) HandoffFunc {
	return func(context.Context, string, uint16, *net.TCPConn) error {
		return errkind.New(errdefs.ErrNotImplemented, "handing off connections is not supported on Windows")
	}
}
