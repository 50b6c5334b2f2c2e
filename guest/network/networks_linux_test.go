package network

import (
	"context"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

func TestPredefinedNetworks(t *testing.T) {
	e := newTestEnv(t)
	m := e.open(t)
	ctx := context.Background()
	nets, err := m.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{NameBridge: DriverBridge, NameHost: DriverHost, NameNone: DriverNull}
	if len(nets) != 3 {
		t.Fatalf("List = %d networks, want 3", len(nets))
	}
	for _, n := range nets {
		if want[n.Name] != n.Driver {
			t.Errorf("network %s has driver %s, want %s", n.Name, n.Driver, want[n.Name])
		}
	}
	br, err := m.Inspect(ctx, NameBridge)
	if err != nil {
		t.Fatal(err)
	}
	if br.Subnet.String() != "10.251.0.0/24" || br.Gateway.String() != "10.251.0.1" || br.Bridge != "bt0" {
		t.Errorf("bridge network = %s gw %s on %s", br.Subnet, br.Gateway, br.Bridge)
	}
	assertBridge(t, e, "bt0", "10.251.0.1/24")
	var fwd []byte
	if err := runIn(t, e.agentNS, func() (err error) {
		fwd, err = os.ReadFile("/proc/sys/net/ipv4/ip_forward")
		return err
	}); err != nil || string(fwd) != "1\n" {
		t.Errorf("ip_forward in the agent namespace = %q, %v; want 1", fwd, err)
	}
}

func assertBridge(t *testing.T, e *testEnv, name, addr string) {
	t.Helper()
	h := handleIn(t, e.agentNS)
	link, err := h.LinkByName(name)
	if err != nil {
		t.Fatalf("bridge %s: %v", name, err)
	}
	addrs, _ := h.AddrList(link, netlink.FAMILY_V4)
	if len(addrs) != 1 || addrs[0].IPNet.String() != addr {
		t.Errorf("bridge %s addresses = %v, want %s", name, addrs, addr)
	}
}

func handleIn(t testing.TB, path string) *netlink.Handle {
	t.Helper()
	ns, err := netns.GetFromPath(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

func TestCreateInspectRemove(t *testing.T) {
	e := newTestEnv(t)
	m := e.open(t)
	ctx := context.Background()
	n := mustCreate(t, m, CreateOptions{Name: "front", Subnet: "10.251.1.0/24", Labels: map[string]string{"a": "b"}})
	if n.Bridge != "br-"+n.ID[:12] || n.Gateway.String() != "10.251.1.1" || len(n.ID) != 64 {
		t.Errorf("created %+v", n)
	}
	assertBridge(t, e, n.Bridge, "10.251.1.1/24")
	for _, ref := range []string{"front", n.ID, n.ID[:5]} {
		got, err := m.Inspect(ctx, ref)
		if err != nil || got.ID != n.ID || got.Labels["a"] != "b" {
			t.Errorf("Inspect(%s) = %v, %v", ref, got, err)
		}
	}
	if err := m.Remove(ctx, "front"); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, err := m.Inspect(ctx, "front"); !errdefs.IsNotFound(err) || err.Error() != "network front not found" {
		t.Errorf("Inspect after Remove = %v", err)
	}
	if _, err := handleIn(t, e.agentNS).LinkByName(n.Bridge); err == nil {
		t.Errorf("bridge %s still exists after Remove", n.Bridge)
	}
}

func TestCreateErrors(t *testing.T) {
	e := newTestEnv(t)
	m := e.open(t)
	mustCreate(t, m, CreateOptions{Name: "taken", Subnet: "10.251.2.0/24"})
	tests := []struct {
		name string
		opts CreateOptions
		kind func(error) bool
		msg  string
	}{
		{"duplicate", CreateOptions{Name: "taken", Subnet: "10.251.3.0/24"}, errdefs.IsConflict, "network with name taken already exists"},
		{"predefined", CreateOptions{Name: "bridge"}, errdefs.IsConflict, "network with name bridge already exists"},
		{"bad name", CreateOptions{Name: "-x"}, errdefs.IsInvalidArgument, "invalid network name"},
		{"driver", CreateOptions{Name: "o", Driver: "overlay"}, errdefs.IsNotFound, `plugin "overlay" not found`},
		{"overlap", CreateOptions{Name: "o", Subnet: "10.251.2.128/25"}, errdefs.IsConflict, "Pool overlaps"},
		{"bad subnet", CreateOptions{Name: "o", Subnet: "10.251.4.1/24"}, errdefs.IsInvalidArgument, "host bits"},
		{"ipv6", CreateOptions{Name: "o", Subnet: "fd00::/64"}, errdefs.IsInvalidArgument, "only IPv4"},
		{"gateway outside", CreateOptions{Name: "o", Subnet: "10.251.4.0/24", Gateway: "10.251.5.1"}, errdefs.IsInvalidArgument, "invalid gateway"},
		{"range outside", CreateOptions{Name: "o", Subnet: "10.251.4.0/24", IPRange: "10.251.5.0/28"}, errdefs.IsInvalidArgument, "not inside subnet"},
		{"gateway without subnet", CreateOptions{Name: "o", Gateway: "10.251.4.1"}, errdefs.IsInvalidArgument, "needs a subnet"},
		{"bad mtu", CreateOptions{Name: "o", Subnet: "10.251.4.0/24", Options: map[string]string{OptMTU: "x"}}, errdefs.IsInvalidArgument, "invalid MTU"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := m.Create(context.Background(), tc.opts)
			if err == nil || !tc.kind(err) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Create(%+v) = %v, want an error containing %q of the right kind", tc.opts, err, tc.msg)
			}
		})
	}
}

func TestRemoveErrors(t *testing.T) {
	e := newTestEnv(t)
	m := e.open(t)
	ctx := context.Background()
	n := mustCreate(t, m, CreateOptions{Name: "busy", Subnet: "10.251.6.0/24"})
	mustAttach(t, m, "busy", containerID(1), newNS(t), AttachOptions{Name: "c1"})
	tests := []struct {
		ref  string
		kind func(error) bool
		msg  string
	}{
		{"busy", errdefs.IsConflict, "error while removing network: network busy id " + n.ID + " has active endpoints"},
		{"bridge", errdefs.IsPermissionDenied, "bridge is a pre-defined network and cannot be removed"},
		{"none", errdefs.IsPermissionDenied, "none is a pre-defined network and cannot be removed"},
		{"nosuch", errdefs.IsNotFound, "network nosuch not found"},
	}
	for _, tc := range tests {
		t.Run(tc.ref, func(t *testing.T) {
			err := m.Remove(ctx, tc.ref)
			if err == nil || !tc.kind(err) || err.Error() != tc.msg {
				t.Fatalf("Remove(%s) = %v, want %q", tc.ref, err, tc.msg)
			}
		})
	}
}

func TestPrune(t *testing.T) {
	e := newTestEnv(t)
	m := e.open(t)
	ctx := context.Background()
	mustCreate(t, m, CreateOptions{Name: "used", Subnet: "10.251.7.0/24"})
	mustCreate(t, m, CreateOptions{Name: "idle", Subnet: "10.251.8.0/24"})
	mustCreate(t, m, CreateOptions{Name: "kept", Subnet: "10.251.9.0/24", Labels: map[string]string{"keep": "1"}})
	mustAttach(t, m, "used", containerID(1), newNS(t), AttachOptions{})
	removed, err := m.Prune(ctx, PruneOptions{Filter: func(n *Network) bool { return n.Labels["keep"] == "" }})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(removed, ",") != "idle" {
		t.Errorf("Prune removed %v, want [idle]", removed)
	}
	nets, _ := m.List(ctx)
	var names []string
	for _, n := range nets {
		names = append(names, n.Name)
	}
	if got := strings.Join(names, ","); got != "bridge,host,kept,none,used" {
		t.Errorf("after prune: %s", got)
	}
}

func TestDefaultSubnetAvoidsHostRoutes(t *testing.T) {
	e := newTestEnv(t)
	e.opts.DefaultSubnet = ""
	h := handleIn(t, e.agentNS)
	dummy := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "btdummy"}}
	if err := h.LinkAdd(dummy); err != nil {
		t.Fatal(err)
	}
	addr := &netlink.Addr{IPNet: ipNet(netip.MustParsePrefix("172.17.5.1/16"))}
	if err := h.AddrAdd(dummy, addr); err != nil {
		t.Fatal(err)
	}
	m := e.open(t)
	br, err := m.Inspect(context.Background(), NameBridge)
	if err != nil {
		t.Fatal(err)
	}
	if br.Subnet.String() != "172.18.0.0/16" {
		t.Errorf("default subnet = %s, want 172.18.0.0/16 (172.17/16 is taken by btdummy)", br.Subnet)
	}
	n := mustCreate(t, m, CreateOptions{Name: "auto"})
	if n.Subnet.String() != "172.19.0.0/16" {
		t.Errorf("auto subnet = %s, want 172.19.0.0/16", n.Subnet)
	}
}

func TestRestoreKeepsNetworks(t *testing.T) {
	e := newTestEnv(t)
	m := e.open(t)
	ctx := context.Background()
	n := mustCreate(t, m, CreateOptions{Name: "kept", Subnet: "10.251.10.0/24"})
	c1, c2 := newNS(t), newNS(t)
	mustAttach(t, m, "kept", containerID(1), c1, AttachOptions{})
	mustAttach(t, m, "kept", containerID(2), c2, AttachOptions{})
	idx := bridgeIndex(t, e, n.Bridge)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Inspect(ctx, "kept"); err != nil {
		t.Fatalf("Inspect after Close: %v", err)
	}
	if _, err := m.Create(ctx, CreateOptions{Name: "late"}); err == nil {
		t.Error("Create on a closed manager succeeded")
	}
	m2 := e.open(t)
	got, err := m2.Inspect(ctx, "kept")
	if err != nil || len(got.Endpoints) != 2 {
		t.Fatalf("after reopen: %v, %v", got, err)
	}
	if bridgeIndex(t, e, n.Bridge) != idx {
		t.Error("bridge was re-created on restart; running containers would lose their ports")
	}
	if err := tcpProbe(t, c1, c2, "10.251.10.2:8080", dialOK); err != nil {
		t.Errorf("connectivity after restart: %v", err)
	}
}

func bridgeIndex(t *testing.T, e *testEnv, name string) int {
	t.Helper()
	l, err := handleIn(t, e.agentNS).LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return l.Attrs().Index
}

func TestDefaultNetworkAdoptsExistingBridge(t *testing.T) {
	e := newTestEnv(t)
	e.opts.DefaultSubnet = ""
	h := handleIn(t, e.agentNS)
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "bt0"}}
	if err := h.LinkAdd(br); err != nil {
		t.Fatal(err)
	}
	if err := h.AddrAdd(br, &netlink.Addr{IPNet: ipNet(netip.MustParsePrefix("10.251.60.1/24"))}); err != nil {
		t.Fatal(err)
	}
	m := e.open(t)
	n, err := m.Inspect(context.Background(), NameBridge)
	if err != nil {
		t.Fatal(err)
	}
	if n.Subnet.String() != "10.251.60.0/24" || n.Gateway.String() != "10.251.60.1" {
		t.Errorf("default network %s gw %s, want the bridge's 10.251.60.0/24 gw 10.251.60.1", n.Subnet, n.Gateway)
	}
	assertBridge(t, e, "bt0", "10.251.60.1/24")
}

// TestCreateUndoneOnFailure: when the DNS server cannot bind the gateway
// (here: the test holds port 53 there), nothing of the network remains.
func TestCreateUndoneOnFailure(t *testing.T) {
	e := newTestEnv(t)
	m := e.open(t)
	ns, err := netns.GetFromPath(e.agentNS)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	pc, l, err := listenDNS(context.Background(), ns, "10.251.50.1:53")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	defer l.Close()
	_, err = m.Create(context.Background(), CreateOptions{Name: "clash", Subnet: "10.251.50.0/24"})
	if err == nil || !strings.Contains(err.Error(), "embedded DNS") {
		t.Fatalf("Create with port 53 taken = %v", err)
	}
	m.Close()
	m = e.open(t)
	if _, err := m.Inspect(context.Background(), "clash"); !errdefs.IsNotFound(err) {
		t.Errorf("half-created network survived: %v", err)
	}
	if got := ruleComments(t, e.agentNS, "postrouting"); len(got) != 1 {
		t.Errorf("postrouting rules %q, want only the default bridge's", got)
	}
	links, _ := handleIn(t, e.agentNS).LinkList()
	for _, l := range links {
		if strings.HasPrefix(l.Attrs().Name, "br-") {
			t.Errorf("bridge %s of the failed network is left", l.Attrs().Name)
		}
	}
}
