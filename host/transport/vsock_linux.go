package transport

import (
	"context"
	"fmt"
	"net"

	"github.com/mdlayher/vsock"
)

// Dial connects to the guest's port.
func (v Vsock) Dial(ctx context.Context) (net.Conn, error) {
	t := v.Timeout
	if t == 0 {
		t = DefaultDialTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, t)
	defer cancel()
	c, err := vsock.DialContext(ctx, v.CID, v.Port, nil)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", v, err)
	}
	return c, nil
}
