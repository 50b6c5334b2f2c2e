//go:build !darwin

package vz

// hostMemory is unknown off macOS (the driver does not run there).
func hostMemory() int64 { return 0 }
