//go:build windows

package machine

import (
	"context"
	"fmt"
	"net"
	"path/filepath"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// pipeBuffer is each direction's buffer of the daemon's pipe.
const pipeBuffer = 64 << 10

// daemonAddress is where the daemon of the machine in dir listens: a named
// pipe (PipeName) derived from the machine store and the machine's name.
func daemonAddress(dir, name string) string { return PipeName(filepath.Dir(dir), name) }

// listenDaemon listens on the named pipe addr. Its security descriptor
// lets only the current user and SYSTEM open it (the counterpart of the
// unix socket's mode 0600). go-winio creates the first instance with
// FILE_FLAG_FIRST_PIPE_INSTANCE, so a pipe of that name made by someone
// else first is an error here rather than a server that steals clients.
// The pipe is in message mode, which gives connections CloseWrite (a
// zero-length message the reader sees as EOF), as the CLI's streams need.
func listenDaemon(addr string) (net.Listener, error) {
	sddl, err := userOnlySDDL()
	if err != nil {
		return nil, err
	}
	ln, err := winio.ListenPipe(addr, &winio.PipeConfig{
		SecurityDescriptor: sddl, MessageMode: true,
		InputBufferSize: pipeBuffer, OutputBufferSize: pipeBuffer,
	})
	if err != nil {
		return nil, fmt.Errorf("listen on %s (is another machine daemon running?): %w", addr, err)
	}
	return ln, nil
}

// userOnlySDDL is a protected DACL granting full access to the user this
// process runs as and to SYSTEM, and nobody else.
func userOnlySDDL() (string, error) {
	tu, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return "", fmt.Errorf("find the current user's SID for the daemon's pipe: %w", err)
	}
	return "D:P(A;;GA;;;" + tu.User.Sid.String() + ")(A;;GA;;;SY)", nil
}

// removeDaemonAddress does nothing: a pipe goes away with its listener.
func removeDaemonAddress(string) {}

// dialDaemon connects to the daemon's pipe, waiting while every instance
// is busy until ctx ends.
func dialDaemon(ctx context.Context, addr string) (net.Conn, error) {
	return winio.DialPipeContext(ctx, addr)
}
