package transport

import (
	"errors"
	"io"
	"net"
)

// closeWriter is a connection whose write side can be closed alone
// (*net.UnixConn, *net.TCPConn, vsock and hvsock connections).
type closeWriter interface {
	CloseWrite() error
}

// Splice copies a to b and b to a until both directions end, then closes
// both. When one side finishes sending (EOF), the other side's write half is
// closed, so a peer waiting for EOF sees it while replies still flow the
// other way. It returns the first copy error that is not a normal close, or
// nil.
func Splice(a, b net.Conn) error {
	errc := make(chan error, 2)
	go func() { errc <- pipe(b, a) }()
	go func() { errc <- pipe(a, b) }()
	err1 := <-errc
	if err1 != nil {
		// One direction broke: tear both down so the other copy ends too.
		a.Close()
		b.Close()
	}
	err2 := <-errc
	a.Close()
	b.Close()
	return errors.Join(quiet(err1), quiet(err2))
}

// pipe copies src to dst, then half-closes dst (or closes it when it cannot
// be half-closed).
func pipe(dst, src net.Conn) error {
	_, err := io.Copy(dst, src)
	if cw, ok := dst.(closeWriter); ok {
		if cerr := cw.CloseWrite(); err == nil && cerr != nil && !errors.Is(cerr, net.ErrClosed) {
			err = cerr
		}
	} else {
		dst.Close()
	}
	return err
}

// quiet drops the errors that only mean "the other side went away".
func quiet(err error) error {
	if err == nil || errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) {
		return nil
	}
	return err
}
