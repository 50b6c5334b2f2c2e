//go:build !linux

package guestinit

import "errors"

// ErrNotPID1 is returned by Main when the process is not PID 1.
var ErrNotPID1 = errors.New("berth init runs only as PID 1 inside berth's Linux VM")

// Main runs only on Linux.
func Main() error { return ErrNotPID1 }
