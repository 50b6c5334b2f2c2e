package network

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"syscall"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// openNS opens the namespace at path, or the process's own when path is "".
func openNS(path string) (netns.NsHandle, error) {
	if path == "" {
		return netns.GetFromPath("/proc/self/ns/net")
	}
	h, err := netns.GetFromPath(path)
	if err != nil {
		return h, fmt.Errorf("open network namespace %s: %w", path, err)
	}
	return h, nil
}

// inNS runs fn on an OS thread switched into ns. It runs on a goroutine of
// its own: should switching back fail, the thread stays locked and dies with
// that goroutine instead of going back to Go's pool in the wrong namespace.
func inNS(ns netns.NsHandle, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("get current network namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := netns.Set(ns); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("enter network namespace: %w", err)
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			errc <- fmt.Errorf("leave network namespace: %w", err) // thread stays locked
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// enableForwarding turns on IPv4 forwarding in ns; /proc/sys/net resolves to
// the namespace of the thread that opens it.
func enableForwarding(ns netns.NsHandle) error {
	return inNS(ns, func() error {
		const p = "/proc/sys/net/ipv4/ip_forward"
		if b, err := os.ReadFile(p); err == nil && len(b) > 0 && b[0] == '1' {
			return nil
		}
		if err := os.WriteFile(p, []byte("1\n"), 0o644); err != nil {
			return fmt.Errorf("enable IPv4 forwarding: %w", err)
		}
		return nil
	})
}

// listenDNS opens the UDP and TCP sockets of a DNS server on addr in ns.
// IP_FREEBIND lets it bind before the bridge is fully up.
func listenDNS(ctx context.Context, ns netns.NsHandle, addr string) (pc net.PacketConn, l net.Listener, err error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_FREEBIND, 1)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	err = inNS(ns, func() error {
		var err error
		if pc, err = lc.ListenPacket(ctx, "udp4", addr); err != nil {
			return err
		}
		if l, err = lc.Listen(ctx, "tcp4", addr); err != nil {
			pc.Close()
			return err
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("embedded DNS: listen on %s: %w", addr, err)
	}
	return pc, l, nil
}
