//go:build !windows

package forward

import (
	"errors"
	"syscall"
)

const accessHint = "ports below 1024 need privileges on this host; publish a higher port (e.g. -p 8080:80)"

func isAddrInUse(err error) bool    { return errors.Is(err, syscall.EADDRINUSE) }
func isAddrNotAvail(err error) bool { return errors.Is(err, syscall.EADDRNOTAVAIL) }
func isAccessDenied(err error) bool {
	return errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM)
}
func isConnRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }
