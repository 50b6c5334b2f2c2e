//go:build !linux

package transport

import (
	"context"
	"net"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/internal/errkind"
)

// Dial fails: AF_VSOCK from the host is Linux only.
func (v Vsock) Dial(context.Context) (net.Conn, error) {
	return nil, errkind.New(errdefs.ErrNotImplemented, "dial %s: vsock from the host needs Linux", v)
}
