package container

import (
	"bytes"
	"errors"
	"io"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// readLine reads one '\n'-terminated line without consuming anything after
// it (the raw stream of an attach): it peeks at what has arrived and reads
// exactly up to the newline, two system calls for a line instead of one
// per byte. Connections that cannot peek are read byte by byte.
func readLine(c net.Conn) ([]byte, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return readLineBytewise(c)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return readLineBytewise(c)
	}
	var out []byte
	buf := make([]byte, 4096)
	for len(out) < maxLine {
		n, err := peek(rc, buf)
		if err != nil {
			return nil, err
		}
		take, done := n, false
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
			take, done = i+1, true
		}
		if _, err := io.ReadFull(c, buf[:take]); err != nil {
			return nil, err
		}
		out = append(out, buf[:take]...)
		if done {
			return out[:len(out)-1], nil
		}
	}
	return nil, errLineTooLong
}

// peek waits for data on rc (honouring the connection's deadline) and
// copies what has arrived into buf without consuming it.
func peek(rc syscall.RawConn, buf []byte) (int, error) {
	var n int
	var perr error
	err := rc.Read(func(fd uintptr) bool {
		n, _, perr = unix.Recvfrom(int(fd), buf, unix.MSG_PEEK)
		return !errors.Is(perr, unix.EAGAIN)
	})
	if err != nil {
		return 0, err
	}
	if perr != nil {
		return 0, perr
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}
