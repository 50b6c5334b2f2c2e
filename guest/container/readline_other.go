//go:build !linux

package container

import "net"

// readLine reads one '\n'-terminated line without consuming anything
// after it.
func readLine(c net.Conn) ([]byte, error) { return readLineBytewise(c) }
