//go:build !linux && !darwin && !windows

package hostmem

// Total is 0 (unknown) on this OS.
func Total() int64 { return 0 }
