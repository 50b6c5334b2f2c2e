//go:build windows

package forward

import (
	"errors"
	"syscall"
)

// Winsock error numbers (winerror.h); syscall has no names for them.
const (
	wsaEACCES        = syscall.Errno(10013)
	wsaEADDRINUSE    = syscall.Errno(10048)
	wsaEADDRNOTAVAIL = syscall.Errno(10049)
	wsaECONNREFUSED  = syscall.Errno(10061)
	wsaECONNRESET    = syscall.Errno(10054)
)

const accessHint = "the port may be reserved by Windows (see: netsh interface ipv4 show excludedportrange protocol=tcp); publish another port"

func isAddrInUse(err error) bool    { return errors.Is(err, wsaEADDRINUSE) }
func isAddrNotAvail(err error) bool { return errors.Is(err, wsaEADDRNOTAVAIL) }
func isAccessDenied(err error) bool { return errors.Is(err, wsaEACCES) }

// isConnRefused also covers WSAECONNRESET, which Windows reports on a UDP
// socket after an ICMP port unreachable.
func isConnRefused(err error) bool {
	return errors.Is(err, wsaECONNREFUSED) || errors.Is(err, wsaECONNRESET)
}
