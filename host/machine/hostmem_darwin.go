package machine

import "golang.org/x/sys/unix"

// hostMemory is the host's physical memory in bytes, 0 when unknown.
func hostMemory() int64 {
	n, err := unix.SysctlUint64("hw.memsize")
	if err != nil {
		return 0
	}
	return int64(n)
}
