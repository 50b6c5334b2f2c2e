//go:build linux

package guestinit

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Plan 9 shares over hvsock (the hcs driver): HCS serves every share of
// the VM on vsock port 564 of the host, one share per aname. For each
// share the guest connects to the host's port, hands the connected socket
// to the kernel's 9p client (trans=fd) and mounts it at the share's path,
// as hcsshim's own guest (internal/guest/storage/plan9) does.
const (
	// plan9Port is the host's vsock port HCS serves Plan 9 on.
	plan9Port = 564
	// plan9Msize is the 9p message size and the socket buffers (the
	// size hcsshim uses with HCS's server).
	plan9Msize = 64 << 10
	// plan9Wait bounds the connects of all shares together (hv_sock's
	// connect times out after 2 s while the host side is not there), so
	// that a missing server delays the engine's start by at most that.
	plan9Wait = 10 * time.Second
)

// mountHvShares mounts the berth.sharehv shares; a share that fails is
// reported and the others are still mounted.
func mountHvShares(shares []Share) error {
	var errs []error
	deadline := time.Now().Add(plan9Wait)
	for _, s := range shares {
		if err := mountHvShare(s, deadline); err != nil {
			errs = append(errs, fmt.Errorf("mount Plan 9 share %q on %s: %w", s.Tag, s.Path, err))
		}
	}
	return errors.Join(errs...)
}

func mountHvShare(s Share, deadline time.Time) error {
	if err := os.MkdirAll(s.Path, 0o755); err != nil {
		return err
	}
	fd, err := dialPlan9(deadline)
	if err != nil {
		return err
	}
	defer unix.Close(fd) // the mount holds its own reference
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, plan9Msize)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, plan9Msize)
	return unix.Mount(s.Tag, s.Path, "9p", 0, plan9Options(fd, s.Tag))
}

// plan9Options are the 9p mount options for a share on connected socket fd.
func plan9Options(fd int, aname string) string {
	return fmt.Sprintf("trans=fd,rfdno=%d,wfdno=%d,msize=%d,version=9p2000.L,aname=%s", fd, fd, plan9Msize, aname)
}

// dialPlan9 connects a vsock stream socket to the host's Plan 9 port,
// retrying a connect that times out or is refused until deadline (one
// attempt at least).
func dialPlan9(deadline time.Time) (int, error) {
	var err error
	for first := true; first || time.Now().Before(deadline); first = false {
		var fd int
		fd, err = unix.Socket(unix.AF_VSOCK, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return -1, fmt.Errorf("vsock socket: %w", err)
		}
		err = unix.Connect(fd, &unix.SockaddrVM{CID: unix.VMADDR_CID_HOST, Port: plan9Port})
		if err == nil {
			return fd, nil
		}
		unix.Close(fd)
		if !errors.Is(err, unix.ETIMEDOUT) && !errors.Is(err, unix.ECONNREFUSED) && !errors.Is(err, unix.ECONNRESET) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return -1, fmt.Errorf("connect to the host's Plan 9 server (vsock port %d): %w", plan9Port, err)
}
