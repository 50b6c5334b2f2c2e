package transport

import (
	"fmt"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/internal/errkind"
)

// vsockTemplate is the GUID template Linux's hv_sock transport maps vsock
// ports onto: port P is service 0000PPPP-facb-11e6-bd58-64006a7986d3 (the
// first 32 bits are the port).
const vsockTemplateTail = "-facb-11e6-bd58-64006a7986d3"

// HvsockServiceID returns the Hyper-V socket service GUID under which a
// Linux guest's AF_VSOCK port appears to the Windows host, as the Linux
// hv_sock transport derives it.
func HvsockServiceID(port uint32) string {
	return fmt.Sprintf("%08x%s", port, vsockTemplateTail)
}

// HvsockPort is the inverse of HvsockServiceID: the vsock port of a
// service GUID made from the template, or an error for any other GUID.
func HvsockPort(serviceID string) (uint32, error) {
	var port uint32
	if len(serviceID) != 36 || serviceID[8:] != vsockTemplateTail {
		return 0, errkind.New(errdefs.ErrInvalidArgument, "%q is not a vsock service GUID", serviceID)
	}
	if _, err := fmt.Sscanf(serviceID[:8], "%08x", &port); err != nil {
		return 0, errkind.New(errdefs.ErrInvalidArgument, "%q is not a vsock service GUID", serviceID)
	}
	return port, nil
}

// HvsockDirection says who opens agent connections over hvsock.
type HvsockDirection int

const (
	// HostDials: the host connects to (VMID, service of the agent's port),
	// the guest listens on AF_VSOCK. This is what vz and vhost-vsock do.
	HostDials HvsockDirection = iota
	// GuestDials: the host listens on (VMID, service) and the guest
	// connects to the host (vsock CID 2) on the agent's port; each guest
	// connection is handed to whoever asked the host for one. This is the
	// direction hcsshim always uses with Linux guests.
	GuestDials
)

// String returns "host-dials" or "guest-dials".
func (d HvsockDirection) String() string {
	if d == GuestDials {
		return "guest-dials"
	}
	return "host-dials"
}
