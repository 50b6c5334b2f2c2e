//go:build windows

package transport

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/Microsoft/go-winio"
	"github.com/Microsoft/go-winio/pkg/guid"
	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/internal/errkind"
)

// Hvsock dials a Hyper-V socket service of a VM (HostDials).
type Hvsock struct {
	// VMID is the VM's runtime id (HcsGetComputeSystemProperties).
	VMID string
	// ServiceID is the service GUID (HvsockServiceID of the agent's port).
	ServiceID string
	// Timeout bounds one attempt; zero means DefaultDialTimeout.
	Timeout time.Duration
}

// Dial connects once; it does not retry.
func (h Hvsock) Dial(ctx context.Context) (net.Conn, error) {
	addr, err := hvsockAddr(h.VMID, h.ServiceID)
	if err != nil {
		return nil, err
	}
	t := h.Timeout
	if t == 0 {
		t = DefaultDialTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, t)
	defer cancel()
	d := winio.HvsockDialer{Retries: 0}
	c, err := d.Dial(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("dial hvsock %s: %w", addr, err)
	}
	return c, nil
}

func hvsockAddr(vmID, serviceID string) (*winio.HvsockAddr, error) {
	vm, err := guid.FromString(vmID)
	if err != nil {
		return nil, errkind.New(errdefs.ErrInvalidArgument, "bad VM id %q: %v", vmID, err)
	}
	svc, err := guid.FromString(serviceID)
	if err != nil {
		return nil, errkind.New(errdefs.ErrInvalidArgument, "bad hvsock service id %q: %v", serviceID, err)
	}
	return &winio.HvsockAddr{VMID: vm, ServiceID: svc}, nil
}

// ListenHvsock listens for the guest's connections to serviceID of vmID.
func ListenHvsock(vmID, serviceID string) (*HvsockAccept, error) {
	addr, err := hvsockAddr(vmID, serviceID)
	if err != nil {
		return nil, err
	}
	ln, err := winio.ListenHvsock(addr)
	if err != nil {
		return nil, fmt.Errorf("listen on hvsock %s: %w", addr, err)
	}
	return NewAccept(ln), nil
}
