//go:build linux

package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/containerd/log"
	"github.com/mdlayher/vsock"
	"golang.org/x/sync/errgroup"
)

// hostCID is the vsock context id of the host; the agent accepts no other.
const hostCID = 2

// Listen says where Run serves.
type Listen struct {
	// Socket is a unix socket path (created 0600; a stale one is replaced).
	Socket string
	// VsockPort is a vsock port; only the host (CID 2) may connect.
	VsockPort uint32
}

// Run opens the engine state, serves on the given listeners until ctx ends
// or a client calls System.Shutdown, then closes everything.
func Run(ctx context.Context, opts Options, on Listen) error {
	s, err := New(ctx, opts)
	if err != nil {
		return err
	}
	defer s.Close()

	var ls []net.Listener
	if on.Socket != "" {
		l, err := listenUnix(on.Socket)
		if err != nil {
			return err
		}
		ls = append(ls, l)
	}
	if on.VsockPort != 0 {
		l, err := vsock.Listen(on.VsockPort, nil)
		if err != nil {
			return fmt.Errorf("listen on vsock port %d: %w", on.VsockPort, err)
		}
		ls = append(ls, &hostOnlyListener{Listener: l})
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	for _, l := range ls {
		g.Go(func() error { return s.Serve(gctx, l) })
	}
	if opts.AutoTrim {
		g.Go(func() error { s.autoTrim(gctx); return nil })
	}
	log.G(ctx).WithField("data-dir", opts.DataDir).Info("berth-agent serving")
	g.Go(func() error {
		select {
		case <-gctx.Done():
		case <-s.Done():
			cancel()
		}
		return nil
	})
	return g.Wait()
}

func listenUnix(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale socket %s: %w", path, err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// hostOnlyListener drops vsock connections from anything but the host.
type hostOnlyListener struct{ net.Listener }

func (l *hostOnlyListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if a, ok := c.RemoteAddr().(*vsock.Addr); ok && a.ContextID == hostCID {
			return c, nil
		}
		c.Close()
	}
}
