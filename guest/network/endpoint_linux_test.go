package network

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/vishvananda/netlink"
)

func TestAttachConfiguresNamespace(t *testing.T) {
	e := newTestEnv(t)
	m := e.open(t)
	c := newNS(t)
	ep := mustAttach(t, m, NameBridge, containerID(1), c, AttachOptions{Name: "web"})
	if ep.IP.String() != "10.251.0.2/24" || ep.Gateway.String() != "10.251.0.1" ||
		ep.MAC != "02:42:0a:fb:00:02" || ep.IfName != "eth0" || !strings.HasPrefix(ep.HostVeth, "veth") {
		t.Fatalf("endpoint = %+v", ep)
	}
	host := handleIn(t, e.agentNS)
	veth, err := host.LinkByName(ep.HostVeth)
	if err != nil {
		t.Fatalf("host veth: %v", err)
	}
	if veth.Attrs().MasterIndex != bridgeIndex(t, e, "bt0") || veth.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("host veth master %d flags %v", veth.Attrs().MasterIndex, veth.Attrs().Flags)
	}
	in := handleIn(t, c)
	eth0, err := in.LinkByName("eth0")
	if err != nil {
		t.Fatalf("eth0 in container: %v", err)
	}
	if eth0.Attrs().HardwareAddr.String() != ep.MAC || eth0.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("eth0 mac %s flags %v", eth0.Attrs().HardwareAddr, eth0.Attrs().Flags)
	}
	addrs, _ := in.AddrList(eth0, netlink.FAMILY_V4)
	if len(addrs) != 1 || addrs[0].IPNet.String() != "10.251.0.2/24" {
		t.Errorf("eth0 addresses %v", addrs)
	}
	routes, _ := in.RouteList(nil, netlink.FAMILY_V4)
	var gw string
	for _, r := range routes {
		if r.Dst == nil || r.Dst.IP.IsUnspecified() {
			gw = r.Gw.String()
		}
	}
	if gw != "10.251.0.1" {
		t.Errorf("default route via %q, want 10.251.0.1 (routes %v)", gw, routes)
	}
	lo, _ := in.LinkByName("lo")
	if lo.Attrs().Flags&net.FlagUp == 0 {
		t.Error("lo is down in the container")
	}
}

func TestAttachSecondNetworkAndNone(t *testing.T) {
	e := newTestEnv(t)
	m := e.open(t)
	mustCreate(t, m, CreateOptions{Name: "second", Subnet: "10.251.11.0/24"})
	c := newNS(t)
	mustAttach(t, m, NameBridge, containerID(1), c, AttachOptions{})
	ep := mustAttach(t, m, "second", containerID(1), c, AttachOptions{})
	if ep.IfName != "eth1" {
		t.Errorf("second interface is %s, want eth1", ep.IfName)
	}
	if eps := m.Endpoints(containerID(1)); len(eps) != 2 {
		t.Errorf("Endpoints = %d, want 2", len(eps))
	}
	n := newNS(t)
	ep, err := m.Attach(context.Background(), NameNone, containerID(2), n, AttachOptions{})
	if err != nil || ep.IP.IsValid() {
		t.Fatalf("Attach none = %+v, %v", ep, err)
	}
	lo, err := handleIn(t, n).LinkByName("lo")
	if err != nil || lo.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("lo not up on the none network: %v", err)
	}
	links, _ := handleIn(t, n).LinkList()
	if len(links) != 1 {
		t.Errorf("none network namespace has %d links, want only lo", len(links))
	}
}

func TestIPAMPersistsAcrossReopen(t *testing.T) {
	e := newTestEnv(t)
	m := e.open(t)
	ctx := context.Background()
	mustCreate(t, m, CreateOptions{Name: "ipam", Subnet: "10.251.12.0/24", IPRange: "10.251.12.16/28"})
	a := mustAttach(t, m, "ipam", containerID(1), newNS(t), AttachOptions{})
	b := mustAttach(t, m, "ipam", containerID(2), newNS(t), AttachOptions{IP: "10.251.12.200"})
	if a.IP.Addr().String() != "10.251.12.16" || b.IP.Addr().String() != "10.251.12.200" {
		t.Fatalf("addresses %s %s", a.IP, b.IP)
	}
	m.Close()
	m = e.open(t)
	c := mustAttach(t, m, "ipam", containerID(3), newNS(t), AttachOptions{})
	if c.IP.Addr().String() != "10.251.12.17" {
		t.Errorf("after reopen got %s, want 10.251.12.17 (no double allocation)", c.IP)
	}
	errs := []struct {
		name, network, ip string
		kind              func(error) bool
		msg               string
	}{
		{"in use", "ipam", "10.251.12.200", errdefs.IsConflict, "already in use"},
		{"outside", "ipam", "10.251.13.5", errdefs.IsInvalidArgument, "no configured subnet or ip-range contain the IP address 10.251.13.5"},
		{"gateway", "ipam", "10.251.12.1", errdefs.IsInvalidArgument, "no configured subnet"},
		{"default bridge", NameBridge, "10.251.0.9", errdefs.IsInvalidArgument, "user specified IP address is supported on user defined networks only"},
		{"garbage", "ipam", "x", errdefs.IsInvalidArgument, "invalid IPv4 address"},
	}
	for i, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			_, err := m.Attach(ctx, tc.network, containerID(10+i), newNS(t), AttachOptions{IP: tc.ip})
			if err == nil || !tc.kind(err) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Attach with IP %s = %v, want %q", tc.ip, err, tc.msg)
			}
		})
	}
	if _, err := m.Attach(ctx, "ipam", containerID(1), newNS(t), AttachOptions{Name: "one"}); !errdefs.IsConflict(err) {
		t.Errorf("second attach of the same container = %v, want conflict", err)
	}
	if err := m.Detach(ctx, "ipam", containerID(1)); err != nil {
		t.Fatal(err)
	}
	if err := m.Detach(ctx, "ipam", containerID(1)); !errdefs.IsNotFound(err) {
		t.Errorf("second Detach = %v, want not found", err)
	}
	m.bg.Wait() // the released address is free once its veth is gone
	d := mustAttach(t, m, "ipam", containerID(4), newNS(t), AttachOptions{})
	if d.IP.Addr().String() != "10.251.12.16" {
		t.Errorf("after Detach got %s, want the released 10.251.12.16", d.IP)
	}
}

func TestDetachRemovesVeth(t *testing.T) {
	e := newTestEnv(t)
	m := e.open(t)
	c := newNS(t)
	ep := mustAttach(t, m, NameBridge, containerID(1), c, AttachOptions{})
	if err := m.Detach(context.Background(), NameBridge, containerID(1)); err != nil {
		t.Fatal(err)
	}
	m.bg.Wait()
	if _, err := handleIn(t, e.agentNS).LinkByName(ep.HostVeth); err == nil {
		t.Error("host veth still exists after Detach")
	}
	if _, err := handleIn(t, c).LinkByName("eth0"); err == nil {
		t.Error("eth0 still exists in the container after Detach")
	}
	n, _ := m.Inspect(context.Background(), NameBridge)
	if len(n.Endpoints) != 0 {
		t.Errorf("endpoints after Detach: %v", n.Endpoints)
	}
}

// TestConnectivityAndIsolation runs with br_netfilter's hook on and off in
// the agent namespace (when the module is loaded; otherwise both runs are
// without it): the rules must give the same result either way.
func TestConnectivityAndIsolation(t *testing.T) {
	for _, brnf := range []string{"1", "0"} {
		t.Run("bridge-nf-call-iptables="+brnf, func(t *testing.T) { testIsolation(t, brnf) })
	}
}

func testIsolation(t *testing.T, brnf string) {
	e := newTestEnv(t)
	err := runIn(t, e.agentNS, func() error {
		err := os.WriteFile("/proc/sys/net/bridge/bridge-nf-call-iptables", []byte(brnf), 0o644)
		if os.IsNotExist(err) {
			return nil // br_netfilter not loaded
		}
		return err
	})
	if err != nil {
		t.Fatalf("set bridge-nf-call-iptables: %v", err)
	}
	m := e.open(t)
	mustCreate(t, m, CreateOptions{Name: "neta", Subnet: "10.251.20.0/24"})
	mustCreate(t, m, CreateOptions{Name: "netb", Subnet: "10.251.21.0/24"})
	mustCreate(t, m, CreateOptions{Name: "inner", Subnet: "10.251.22.0/24", Internal: true})
	a1, a2, b1, i1 := newNS(t), newNS(t), newNS(t), newNS(t)
	mustAttach(t, m, "neta", containerID(1), a1, AttachOptions{})
	mustAttach(t, m, "neta", containerID(2), a2, AttachOptions{})
	mustAttach(t, m, "netb", containerID(3), b1, AttachOptions{})
	mustAttach(t, m, "inner", containerID(4), i1, AttachOptions{})
	tests := []struct {
		name     string
		srv, cli string
		addr     string
		ok       bool
	}{
		{"same network", a1, a2, "10.251.20.2:7000", true},
		{"same network reverse", a2, a1, "10.251.20.3:7001", true},
		{"other bridge", a1, b1, "10.251.20.2:7002", false},
		{"other bridge reverse", b1, a1, "10.251.21.2:7003", false},
		{"into internal", i1, a1, "10.251.22.2:7004", false},
		{"agent to container", a1, e.agentNS, "10.251.20.2:7005", true},
		{"internal to agent", e.agentNS, i1, "10.251.22.1:7006", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			timeout := dialBlocked
			if tc.ok {
				timeout = dialOK
			}
			err := tcpProbe(t, tc.srv, tc.cli, tc.addr, timeout)
			if tc.ok && err != nil {
				t.Errorf("connect %s: %v", tc.addr, err)
			}
			if !tc.ok && err == nil {
				t.Errorf("connect %s succeeded, want it blocked", tc.addr)
			}
		})
	}
}

func TestConcurrentAttach(t *testing.T) {
	e := newTestEnv(t)
	m := e.open(t)
	mustCreate(t, m, CreateOptions{Name: "crowd", Subnet: "10.251.13.0/24"})
	const n = 12
	nss := make([]string, n)
	for i := range nss {
		nss[i] = newNS(t)
	}
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, err := m.Attach(context.Background(), "crowd", containerID(i), nss[i], AttachOptions{})
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent Attach: %v", err)
		}
	}
	nw, _ := m.Inspect(context.Background(), "crowd")
	seen := map[string]bool{}
	for _, ep := range nw.Endpoints {
		if seen[ep.IP.String()] {
			t.Errorf("address %s handed out twice", ep.IP)
		}
		seen[ep.IP.String()] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct addresses, want %d", len(seen), n)
	}
}

func TestFailedAttachRollsBack(t *testing.T) {
	e := newTestEnv(t)
	m := e.open(t)
	ctx := context.Background()
	_, err := m.Attach(ctx, NameBridge, containerID(1), "/nonexistent/netns", AttachOptions{})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/netns") {
		t.Fatalf("Attach to a missing namespace = %v", err)
	}
	n, _ := m.Inspect(ctx, NameBridge)
	if len(n.Endpoints) != 0 {
		t.Errorf("failed attach left endpoints: %v", n.Endpoints)
	}
	ep := mustAttach(t, m, NameBridge, containerID(2), newNS(t), AttachOptions{})
	if ep.IP.Addr().String() != "10.251.0.2" {
		t.Errorf("address after a failed attach = %s, want 10.251.0.2", ep.IP)
	}
	if _, err := m.Attach(ctx, "nosuch", containerID(3), newNS(t), AttachOptions{}); !errdefs.IsNotFound(err) {
		t.Errorf("Attach to a missing network = %v", err)
	}
}

func TestAttachHost(t *testing.T) {
	e := newTestEnv(t)
	m := e.open(t)
	ep, err := m.Attach(context.Background(), NameHost, containerID(1), "", AttachOptions{Name: "h"})
	if err != nil || ep.IP.IsValid() || ep.HostVeth != "" {
		t.Fatalf("Attach host = %+v, %v", ep, err)
	}
	n, _ := m.Inspect(context.Background(), NameHost)
	if n.Endpoints[containerID(1)] == nil {
		t.Error("host network does not list the container")
	}
	if err := m.Detach(context.Background(), NameHost, containerID(1)); err != nil {
		t.Errorf("Detach host: %v", err)
	}
}

func TestReleaseStale(t *testing.T) {
	e := newTestEnv(t)
	m := e.open(t)
	mustCreate(t, m, CreateOptions{Name: "st", Subnet: "10.251.14.0/24"})
	for i := 1; i <= 3; i++ {
		mustAttach(t, m, "st", containerID(i), newNS(t), AttachOptions{})
	}
	mustAttach(t, m, NameBridge, containerID(1), newNS(t), AttachOptions{})
	n, err := m.ReleaseStale(context.Background(), func(id string) bool { return id == containerID(2) })
	if err != nil || n != 3 {
		t.Fatalf("ReleaseStale = %d, %v; want 3 (containers 1 and 3)", n, err)
	}
	if eps := m.Endpoints(containerID(2)); len(eps) != 1 {
		t.Errorf("the live container lost its endpoint: %v", eps)
	}
	if eps := m.Endpoints(containerID(1)); len(eps) != 0 {
		t.Errorf("stale endpoints left: %v", eps)
	}
}
