//go:build linux

package guestinit

import (
	"os"

	"golang.org/x/sys/unix"
)

// hasVsock reports whether the VM has a vsock transport to the host. The
// /dev/vsock node exists as soon as the vsock module is loaded, device or
// not; the local CID is VMADDR_CID_ANY without a guest-to-host transport.
// Hyper-V's hv_sock transport has no CIDs (its local CID is always
// VMADDR_CID_ANY), so under Hyper-V its vmbus driver is the sign.
func hasVsock() bool {
	if _, err := os.Stat("/sys/bus/vmbus/drivers/hv_sock"); err == nil {
		return true
	}
	f, err := os.Open("/dev/vsock")
	if err != nil {
		return false
	}
	defer f.Close()
	cid, err := unix.IoctlGetUint32(int(f.Fd()), unix.IOCTL_VM_SOCKETS_GET_LOCAL_CID)
	return err == nil && cid != unix.VMADDR_CID_ANY
}
