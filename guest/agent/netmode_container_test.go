//go:build linux

package agent

import (
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	ctypes "github.com/moby/moby/api/types/container"
	ntypes "github.com/moby/moby/api/types/network"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// TestNetworkContainerMode: --network container:X shares X's network
// namespace (same interfaces and address, X's hostname, no endpoint of its
// own), is refused with docker's errors when combined with network
// options, and needs X running at start.
func TestNetworkContainerMode(t *testing.T) {
	h, ctx := setup(t)
	owner := h.mustCreate(ctx, createOpts{name: "owner",
		cfg: ctypes.Config{Image: testImage, Hostname: "ownerhost", Cmd: []string{"httpd", "-f", "-p", "80", "-h", "/www"}}})
	h.start(ctx, owner)
	ownerIP := h.inspect(ctx, owner).NetworkSettings.Networks["bridge"].IPAddress.String()
	join := ctypes.HostConfig{NetworkMode: "container:owner"}

	t.Run("shares the namespace", func(t *testing.T) {
		script := `cat /proc/sys/kernel/hostname; ls /sys/class/net; grep -c "` + ownerIP + `" /proc/net/fib_trie >/dev/null && echo same-ip
		grep -q "^` + ownerIP + `	ownerhost" /etc/hosts && echo hosts
		printf 'GET /index.html HTTP/1.0\r\n\r\n' | nc -w 2 127.0.0.1 80 | awk 'b{print} /^\r?$/{b=1}'`
		out, errOut, code := h.with(t).run(ctx, createOpts{name: "joined", cfg: sh(script), hc: join})
		want := "ownerhost\neth0\nlo\nsame-ip\nhosts\nhello from web\n"
		if code != 0 || out != want {
			t.Errorf("exit %d output %q (stderr %q), want %q", code, out, errOut, want)
		}
		doc := h.with(t).inspect(ctx, "joined")
		if got := string(doc.HostConfig.NetworkMode); got != "container:"+owner {
			t.Errorf("NetworkMode %q, want container:%s", got, owner)
		}
		if len(doc.NetworkSettings.Networks) != 0 || doc.Config.Hostname != "ownerhost" {
			t.Errorf("networks %v hostname %q, want none and ownerhost", doc.NetworkSettings.Networks, doc.Config.Hostname)
		}
	})
	t.Run("chain", func(t *testing.T) {
		middle := h.mustCreate(ctx, createOpts{name: "middle", cfg: sh("sleep 1000"), hc: join})
		h.start(ctx, middle)
		out, _, code := h.with(t).run(ctx, createOpts{cfg: sh("cat /proc/sys/kernel/hostname; ls /sys/class/net | grep -c eth0"),
			hc: ctypes.HostConfig{NetworkMode: "container:middle"}})
		if code != 0 || out != "ownerhost\n1\n" {
			t.Errorf("joined to a joined container: exit %d output %q", code, out)
		}
	})
	t.Run("owner on the host network", func(t *testing.T) {
		ho := h.mustCreate(ctx, createOpts{name: "hostowner", cfg: sh("sleep 1000"), hc: ctypes.HostConfig{NetworkMode: "host"}})
		h.start(ctx, ho)
		want, _ := os.Hostname()
		out, _, code := h.with(t).run(ctx, createOpts{cfg: sh("cat /proc/sys/kernel/hostname"), hc: ctypes.HostConfig{NetworkMode: "container:hostowner"}})
		if code != 0 || out != want+"\n" {
			t.Errorf("joined to a host-network container: exit %d hostname %q, want %q", code, out, want)
		}
	})

	tests := []struct {
		name string
		o    createOpts
		kind func(error) bool
		msg  string
	}{
		{"publish", createOpts{cfg: sh("true"), hc: ctypes.HostConfig{NetworkMode: "container:owner",
			PortBindings: ntypes.PortMap{ntypes.MustParsePort("80/tcp"): {{HostPort: "8080"}}}}}, errdefs.IsInvalidArgument, errConflictPublish},
		{"publish all", createOpts{cfg: sh("true"), hc: ctypes.HostConfig{NetworkMode: "container:owner", PublishAllPorts: true}}, errdefs.IsInvalidArgument, errConflictPublish},
		{"hostname", createOpts{cfg: ctypes.Config{Image: testImage, Hostname: "h"}, hc: join}, errdefs.IsInvalidArgument, errConflictHostname},
		{"dns", createOpts{cfg: sh("true"), hc: ctypes.HostConfig{NetworkMode: "container:owner", DNS: []netip.Addr{netip.MustParseAddr("10.0.0.53")}}}, errdefs.IsInvalidArgument, errConflictDNS},
		{"add-host", createOpts{cfg: sh("true"), hc: ctypes.HostConfig{NetworkMode: "container:owner", ExtraHosts: []string{"a:10.0.0.1"}}}, errdefs.IsInvalidArgument, errConflictHosts},
		{"expose", createOpts{cfg: ctypes.Config{Image: testImage, ExposedPorts: ntypes.PortSet{ntypes.MustParsePort("80/tcp"): {}}}, hc: join}, errdefs.IsInvalidArgument, errConflictExpose},
		{"no container", createOpts{cfg: sh("true"), hc: ctypes.HostConfig{NetworkMode: "container:"}}, errdefs.IsInvalidArgument, "invalid container format container:<name|id>"},
		{"unknown container", createOpts{cfg: sh("true"), hc: ctypes.HostConfig{NetworkMode: "container:nosuch"}}, errdefs.IsNotFound, "No such container: nosuch"},
		{"alias", createOpts{cfg: sh("true"), hc: join, netConf: &ntypes.NetworkingConfig{EndpointsConfig: map[string]*ntypes.EndpointSettings{
			"container:owner": {Aliases: []string{"a"}}}}}, errdefs.IsInvalidArgument, "network-scoped alias"},
		{"other network", createOpts{cfg: sh("true"), hc: join, netConf: &ntypes.NetworkingConfig{EndpointsConfig: map[string]*ntypes.EndpointSettings{
			"bridge": {}}}}, errdefs.IsInvalidArgument, errSharedNetwork},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.create(ctx, tc.o)
			if err == nil || !tc.kind(errgrpc.ToNative(err)) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("create: got %v, want %q", err, tc.msg)
			}
		})
	}

	t.Run("connect refused", func(t *testing.T) {
		_, err := h.nets.Connect(ctx, &agentv1.ConnectNetworkRequest{Network: "bridge", Container: "joined"})
		if err == nil || !errdefs.IsInvalidArgument(errgrpc.ToNative(err)) || !strings.Contains(err.Error(), errSharedNetwork) {
			t.Errorf("connect: got %v, want %q", err, errSharedNetwork)
		}
	})
	t.Run("owner must run", func(t *testing.T) {
		late := h.mustCreate(ctx, createOpts{cfg: sh("true"), hc: join})
		if _, err := h.ctr.Kill(ctx, &agentv1.KillContainerRequest{Id: owner}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.ctr.Wait(ctx, &agentv1.WaitContainerRequest{Id: owner}); err != nil {
			t.Fatal(err)
		}
		_, err := h.ctr.Start(ctx, &agentv1.ContainerRequest{Id: late})
		want := "cannot join network of a non running container: " + owner
		if err == nil || !isConflict(err) || !strings.Contains(err.Error(), want) {
			t.Errorf("start: got %v, want %q", err, want)
		}
	})
}
