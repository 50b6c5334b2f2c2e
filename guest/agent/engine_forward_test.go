//go:build linux

package agent

import (
	"net"
	"testing"

	"github.com/containerd/errdefs"
	ctypes "github.com/moby/moby/api/types/container"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// TestForwardAddr: forward streams go to the container's address on its
// network, to 127.0.0.1 for --network host, and nowhere for a container
// that is not running or does not exist.
func TestForwardAddr(t *testing.T) {
	h, ctx := setup(t)
	e := h.srv.engine
	id := h.mustCreate(ctx, createOpts{name: "fwd", cfg: sh("sleep 1000")})
	if _, err := e.ForwardAddr(id, "tcp", 80); !errdefs.IsFailedPrecondition(err) {
		t.Fatalf("created container: %v, want failed precondition", err)
	}
	if _, err := h.ctr.Start(ctx, &agentv1.ContainerRequest{Id: id}); err != nil {
		t.Fatal(err)
	}
	ip := h.inspect(ctx, id).NetworkSettings.Networks["bridge"].IPAddress
	if !ip.IsValid() {
		t.Fatal("no bridge address")
	}
	for _, tc := range []struct {
		ref, proto string
		port       uint16
		want       string
	}{
		{id, "tcp", 80, net.JoinHostPort(ip.String(), "80")},
		{"fwd", "udp", 53, net.JoinHostPort(ip.String(), "53")},
		{id[:12], "tcp", 8080, net.JoinHostPort(ip.String(), "8080")},
	} {
		got, err := e.ForwardAddr(tc.ref, tc.proto, tc.port)
		if err != nil || got != tc.want {
			t.Errorf("ForwardAddr(%s, %s, %d) = %q, %v; want %q", tc.ref, tc.proto, tc.port, got, err, tc.want)
		}
	}
	if _, err := e.ForwardAddr(id, "sctp", 80); !errdefs.IsInvalidArgument(err) {
		t.Errorf("sctp: %v", err)
	}
	if _, err := e.ForwardAddr("nosuch", "tcp", 80); !errdefs.IsNotFound(err) {
		t.Errorf("unknown container: %v", err)
	}
	hostID := h.mustCreate(ctx, createOpts{name: "fwd-host", cfg: sh("sleep 1000"), hc: ctypes.HostConfig{NetworkMode: "host"}})
	if _, err := h.ctr.Start(ctx, &agentv1.ContainerRequest{Id: hostID}); err != nil {
		t.Fatal(err)
	}
	if got, err := e.ForwardAddr(hostID, "tcp", 9000); err != nil || got != "127.0.0.1:9000" {
		t.Errorf("host network: %q, %v", got, err)
	}
	t0 := int32(0)
	if _, err := h.ctr.Stop(ctx, &agentv1.StopContainerRequest{Id: id, Timeout: &t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ForwardAddr(id, "tcp", 80); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("stopped container: %v, want failed precondition", err)
	}
}
