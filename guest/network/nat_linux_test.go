package network

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// ruleComments lists the comments of the rules in chain of our table in the
// namespace at path, nil when the table does not exist.
func ruleComments(t *testing.T, path, chain string) []string {
	t.Helper()
	c := nftIn(t, path)
	table := &nftables.Table{Name: TableName, Family: nftables.TableFamilyIPv4}
	if _, err := c.ListTableOfFamily(TableName, nftables.TableFamilyIPv4); err != nil {
		return nil
	}
	rules, err := c.GetRules(table, &nftables.Chain{Name: chain, Table: table})
	if err != nil {
		t.Fatalf("list rules of %s: %v", chain, err)
	}
	var out []string
	for _, r := range rules {
		s, _ := userdata.GetString(r.UserData, userdata.TypeComment)
		if chain == "postrouting" && !slices.ContainsFunc(r.Exprs, func(e expr.Any) bool { _, ok := e.(*expr.Masq); return ok }) {
			t.Errorf("postrouting rule %q has no masquerade", s)
		}
		out = append(out, s)
	}
	return out
}

// nftIn is an nftables connection to the namespace at path; the namespace
// stays open until the test ends.
func nftIn(t *testing.T, path string) *nftables.Conn {
	t.Helper()
	ns, err := netns.GetFromPath(path)
	if err != nil {
		t.Fatalf("open namespace %s: %v", path, err)
	}
	t.Cleanup(func() { ns.Close() })
	c, err := nftables.New(nftables.WithNetNSFd(int(ns)))
	if err != nil {
		t.Fatalf("nftables in %s: %v", path, err)
	}
	return c
}

func deleteTable(t *testing.T, path string) {
	t.Helper()
	c := nftIn(t, path)
	c.DelTable(&nftables.Table{Name: TableName, Family: nftables.TableFamilyIPv4})
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
}

func TestNATRules(t *testing.T) {
	e := newTestEnv(t)
	m := e.open(t)
	ctx := context.Background()
	mustCreate(t, m, CreateOptions{Name: "nat1", Subnet: "10.251.40.0/24"})
	mustCreate(t, m, CreateOptions{Name: "sealed", Subnet: "10.251.41.0/24", Internal: true})
	mustCreate(t, m, CreateOptions{Name: "plain", Subnet: "10.251.42.0/24", Options: map[string]string{OptMasquerade: "false"}})
	steps := []struct {
		name string
		do   func()
		want []string
	}{
		{"after create", func() {}, []string{"masquerade bridge", "masquerade nat1"}},
		{"after remove", func() {
			if err := m.Remove(ctx, "nat1"); err != nil {
				t.Fatal(err)
			}
		}, []string{"masquerade bridge"}},
		{"rebuilt at start", func() {
			mustCreate(t, m, CreateOptions{Name: "nat2", Subnet: "10.251.43.0/24"})
			m.Close()
			deleteTable(t, e.agentNS)
			m = e.open(t)
		}, []string{"masquerade bridge", "masquerade nat2"}},
		{"replaced, not duplicated, at start", func() {
			m.Close()
			m = e.open(t)
		}, []string{"masquerade bridge", "masquerade nat2"}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.do()
			if got := ruleComments(t, e.agentNS, "postrouting"); !slices.Equal(got, st.want) {
				t.Errorf("postrouting rules %q, want %q", got, st.want)
			}
		})
	}
	fwd := ruleComments(t, e.agentNS, "forward")
	for _, want := range []string{"intra sealed", "isolation", "internal sealed", "established", "outbound", "inbound"} {
		if !slices.Contains(fwd, want) {
			t.Errorf("forward chain lacks %q: %q", want, fwd)
		}
	}
}

// TestMasqueradeToOutside connects the agent namespace to an "outside"
// namespace (10.251.250.0/24, no route back to the containers): only
// masqueraded traffic can get an answer.
func TestMasqueradeToOutside(t *testing.T) {
	e := newTestEnv(t)
	m := e.open(t)
	outside := newNS(t)
	linkOutside(t, e.agentNS, outside)
	mustCreate(t, m, CreateOptions{Name: "sealed", Subnet: "10.251.44.0/24", Internal: true})
	c, s := newNS(t), newNS(t)
	mustAttach(t, m, NameBridge, containerID(1), c, AttachOptions{})
	mustAttach(t, m, "sealed", containerID(2), s, AttachOptions{})
	var l net.Listener
	if err := runIn(t, outside, func() (err error) { l, err = net.Listen("tcp4", "10.251.250.2:9000"); return err }); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	peers := make(chan string, 1)
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			peers <- conn.RemoteAddr().(*net.TCPAddr).IP.String()
			conn.Close()
		}
	}()
	if err := dialFrom(t, c, "10.251.250.2:9000", dialOK); err != nil {
		t.Fatalf("container on the default bridge cannot reach outside: %v", err)
	}
	if peer := <-peers; peer != "10.251.250.1" {
		t.Errorf("outside saw %s, want the masqueraded 10.251.250.1", peer)
	}
	if err := dialFrom(t, s, "10.251.250.2:9000", dialBlocked); err == nil {
		t.Error("container on an internal network reached outside")
	}
}

func dialFrom(t *testing.T, ns, addr string, timeout time.Duration) error {
	return runIn(t, ns, func() error {
		conn, err := net.DialTimeout("tcp4", addr, timeout)
		if err == nil {
			conn.Close()
		}
		return err
	})
}

// linkOutside joins agent and outside with a veth: 10.251.250.1 on the agent
// side (its default route), 10.251.250.2 outside.
func linkOutside(t *testing.T, agent, outside string) {
	t.Helper()
	ons, _ := netns.GetFromPath(outside)
	defer ons.Close()
	h := handleIn(t, agent)
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "btup0", Flags: net.FlagUp}, PeerName: "btup1", PeerNamespace: netlink.NsFd(ons)}
	if err := h.LinkAdd(veth); err != nil {
		t.Fatal(err)
	}
	if err := h.AddrAdd(veth, &netlink.Addr{IPNet: ipNet(netip.MustParsePrefix("10.251.250.1/24"))}); err != nil {
		t.Fatal(err)
	}
	gw := net.ParseIP("10.251.250.2")
	if err := h.RouteAdd(&netlink.Route{LinkIndex: veth.Attrs().Index, Gw: gw}); err != nil {
		t.Fatal(err)
	}
	oh := handleIn(t, outside)
	peer, err := oh.LinkByName("btup1")
	if err != nil {
		t.Fatal(err)
	}
	if err := oh.AddrAdd(peer, &netlink.Addr{IPNet: ipNet(netip.MustParsePrefix("10.251.250.2/24"))}); err != nil {
		t.Fatal(err)
	}
	for _, l := range []netlink.Link{peer, &netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: 1}}} {
		if err := oh.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
	}
}
