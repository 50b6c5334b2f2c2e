package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"time"

	"github.com/berth-dev/berth/host/forward"
	"github.com/berth-dev/berth/host/machine"
)

// probeWait is how long a forwarded connection must stay open (or answer)
// to count as reaching the container.
const probeWait = 500 * time.Millisecond

// checkForwards connects to every published TCP port of the machine: the
// connection goes host listener -> machine daemon -> agent -> container,
// so a connection the forwarder closes at once means the agent could not
// reach the container.
func (d *doctor) checkForwards(ctx context.Context, m *machine.Machine, running bool) {
	if !running {
		d.line(checkWarn, "port forwarding", "not checked: the machine is not running")
		return
	}
	fws, err := machine.ListForwards(ctx, m.Dialer())
	if err != nil {
		d.line(checkWarn, "port forwarding", "cannot list the machine's port forwards: "+err.Error())
		return
	}
	tested := 0
	for _, f := range fws {
		if f.Proto != forward.TCP {
			continue
		}
		tested++
		addr := forwardAddr(f)
		if err := probeTCP(ctx, addr); err != nil {
			d.line(checkFail, "port forwarding", fmt.Sprintf("%s (container %.12s port %d): %v; check that the container listens on that port",
				addr, f.ContainerID, f.ContainerPort, err))
			return
		}
	}
	if tested == 0 {
		d.line(checkOK, "port forwarding", "no published TCP ports to test (run a container with -p to check)")
		return
	}
	d.line(checkOK, "port forwarding", fmt.Sprintf("%d published TCP port(s) reach their containers", tested))
}

// forwardAddr is where to connect to reach f: its address, or loopback
// when it listens on every address.
func forwardAddr(f forward.Forward) string {
	ip := f.HostIP
	if !ip.IsValid() || ip.IsUnspecified() {
		ip = netip.MustParseAddr("127.0.0.1")
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(int(f.HostPort)))
}

// probeTCP connects to addr and waits probeWait: data or a connection
// still open counts as reached; a refused or at once closed connection is
// the error.
func probeTCP(ctx context.Context, addr string) error {
	var dl net.Dialer
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	c, err := dl.DialContext(cctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot connect: %w", err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(probeWait))
	n, err := c.Read(make([]byte, 1))
	switch {
	case n > 0, errors.Is(err, os.ErrDeadlineExceeded):
		return nil
	case errors.Is(err, io.EOF):
		return errors.New("the forward closed the connection at once")
	}
	return fmt.Errorf("the forward failed: %w", err)
}
