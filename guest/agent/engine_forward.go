//go:build linux

package agent

import (
	"context"
	"net"
	"strconv"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/guest/container"
	"github.com/berth-dev/berth/guest/network"
)

var _ ForwardResolver = (*engine)(nil)

// ForwardAddr is where a forward stream to port/proto of containerID
// goes: the container's address on its first network (the primary one
// first), or 127.0.0.1 for a --network host container. A container that
// does not exist, is not running, or has no address is an error.
func (e *engine) ForwardAddr(containerID, proto string, port uint16) (string, error) {
	if proto != "tcp" && proto != "udp" {
		return "", newKindError(errdefs.ErrInvalidArgument, "cannot forward %s", proto)
	}
	r, err := e.store.get(containerID)
	if err != nil {
		return "", err
	}
	st := e.state(context.WithoutCancel(e.ctx), r)
	if st.Status != container.StatusRunning && st.Status != container.StatusPaused {
		return "", newKindError(errdefs.ErrFailedPrecondition, "container %s is not running", shortID(r.ID))
	}
	p := strconv.Itoa(int(port))
	if _, ok := r.Networks[network.NameHost]; ok {
		return net.JoinHostPort("127.0.0.1", p), nil
	}
	for _, name := range networkOrder(r) {
		if es := r.Networks[name]; es != nil && es.IPAddress.IsValid() {
			return net.JoinHostPort(es.IPAddress.String(), p), nil
		}
		if es := r.Networks[name]; es != nil && es.GlobalIPv6Address.IsValid() {
			return net.JoinHostPort(es.GlobalIPv6Address.String(), p), nil
		}
	}
	return "", newKindError(errdefs.ErrFailedPrecondition, "container %s has no network address to forward port %s/%s to", shortID(r.ID), p, proto)
}
