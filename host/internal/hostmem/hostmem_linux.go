package hostmem

import "golang.org/x/sys/unix"

// Total is the host's physical memory in bytes, 0 when unknown.
func Total() int64 {
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil {
		return 0
	}
	return int64(si.Totalram) * int64(si.Unit)
}
