package transport

import (
	"fmt"
	"time"
)

// HostCID is the vsock context ID of the host; guests get 3 and up.
const HostCID = 2

// Vsock dials port Port of the guest with context ID CID over AF_VSOCK
// (through /dev/vhost-vsock on the host). It is Linux only; elsewhere Dial
// fails with errdefs.ErrNotImplemented.
type Vsock struct {
	CID  uint32
	Port uint32
	// Timeout bounds one attempt; zero means DefaultDialTimeout.
	Timeout time.Duration
}

// String names the address, for errors.
func (v Vsock) String() string { return fmt.Sprintf("vsock %d:%d", v.CID, v.Port) }
