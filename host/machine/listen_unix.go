//go:build !windows

package machine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"

	"github.com/berth-dev/berth/host/transport"
)

// daemonAddress is where the daemon of the machine in dir listens: the
// 0600 unix socket daemon.sock in the machine's dir.
func daemonAddress(dir, _ string) string { return filepath.Join(dir, daemonSocket) }

// listenDaemon listens on the unix socket addr, replacing a stale socket,
// mode 0600 so that only the user reaches the daemon.
func listenDaemon(addr string) (net.Listener, error) {
	if err := os.Remove(addr); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("remove stale socket %s: %w", addr, err)
	}
	ln, err := net.Listen("unix", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	if err := os.Chmod(addr, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("chmod %s: %w", addr, err)
	}
	return ln, nil
}

// removeDaemonAddress removes the socket once the daemon stops serving.
func removeDaemonAddress(addr string) { os.Remove(addr) }

// dialDaemon connects to the daemon's socket.
func dialDaemon(ctx context.Context, addr string) (net.Conn, error) {
	return transport.Unix{Path: addr}.Dial(ctx)
}
