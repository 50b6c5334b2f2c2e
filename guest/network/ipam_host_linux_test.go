package network

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/vishvananda/netlink"
	bolt "go.etcd.io/bbolt"
)

// TestAutoSubnetSkipsAssignedAddresses: subnets already on an interface are
// never handed out, whether the interface is someone else's (a dummy the
// test makes and later removes) or our own default bridge keeping a stale
// address of an earlier run whose database is gone.
func TestAutoSubnetSkipsAssignedAddresses(t *testing.T) {
	e := newTestEnv(t)
	e.opts.DefaultSubnet = ""
	h := handleIn(t, e.agentNS)
	m := e.open(t)
	outer := t
	ctx := context.Background()
	addAddr := func(t *testing.T, l netlink.Link, cidr string) {
		t.Helper()
		if err := h.AddrAdd(l, &netlink.Addr{IPNet: ipNet(netip.MustParsePrefix(cidr))}); err != nil {
			t.Fatalf("add %s to %s: %v", cidr, l.Attrs().Name, err)
		}
	}
	// A bridge stands in for a dummy interface: kernels without the dummy
	// module (this test's CI) have bridges, and IPAM cares for the address.
	dummy := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "btdummy0"}}
	steps := []struct {
		name string
		do   func(t *testing.T)
		want string
	}{
		{"default bridge first", func(*testing.T) {}, "172.18.0.0/16"},
		{"dummy interface (down) holds 172.19/16", func(t *testing.T) {
			if err := h.LinkAdd(dummy); err != nil {
				t.Fatal(err)
			}
			addAddr(t, dummy, "172.19.7.1/16")
		}, "172.20.0.0/16"},
		{"stale address on the default bridge after a reset", func(t *testing.T) {
			br, err := h.LinkByName("bt0")
			if err != nil {
				t.Fatal(err)
			}
			addAddr(t, br, "172.21.0.1/16")
			m.Close()
			if err := e.db.Close(); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(e.dbPath); err != nil {
				t.Fatal(err)
			}
			e.openDB(outer) // cleanups belong to the whole test
			m = e.open(outer)
			// The new database adopts bt0's first address (172.17/16); a
			// user network may take neither that nor the stale 172.21/16,
			// nor the subnets of networks only the old database knew.
		}, "172.22.0.0/16"},
		{"removed dummy frees its subnet", func(t *testing.T) {
			if err := h.LinkDel(dummy); err != nil {
				t.Fatal(err)
			}
		}, "172.19.0.0/16"},
	}
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.do(t)
			n, err := m.Create(ctx, CreateOptions{Name: "auto" + string(rune('a'+i))})
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			if n.Subnet.String() != st.want {
				t.Errorf("auto subnet %s, want %s", n.Subnet, st.want)
			}
		})
	}
}

// TestHostLockSeparatesEngines: engines sharing one namespace (native
// machines) start at the same moment, each with its own database, bridge and
// table; with a common HostLock they never pick the same free subnet, for
// the default bridge as for user networks created at once.
func TestHostLockSeparatesEngines(t *testing.T) {
	e := newTestEnv(t)
	lock := filepath.Join(t.TempDir(), "network.lock")
	const engines = 3
	ms := make([]*Manager, engines)
	errs := make(chan error, engines)
	for i := range engines {
		o := e.opts
		o.DefaultSubnet, o.HostLock = "", lock
		o.DefaultBridge, o.Table = fmt.Sprintf("bt%d", i), fmt.Sprintf("berth-test%d", i)
		db, err := bolt.Open(filepath.Join(t.TempDir(), "meta.db"), 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		o.DB = db
		go func() {
			m, err := New(context.Background(), o)
			ms[i] = m
			errs <- err
		}()
	}
	for range engines {
		if err := <-errs; err != nil {
			t.Fatalf("New: %v", err)
		}
	}
	for _, m := range ms {
		t.Cleanup(func() { m.Close() })
	}
	var subnets []netip.Prefix
	for _, m := range ms {
		n, err := m.Inspect(context.Background(), NameBridge)
		if err != nil {
			t.Fatal(err)
		}
		subnets = append(subnets, n.Subnet)
	}
	created := make(chan *Network, engines)
	for i, m := range ms {
		go func() {
			n, err := m.Create(context.Background(), CreateOptions{Name: fmt.Sprintf("user%d", i)})
			if err != nil {
				t.Errorf("Create: %v", err)
			}
			created <- n
		}()
	}
	for range engines {
		if n := <-created; n != nil {
			subnets = append(subnets, n.Subnet)
		}
	}
	for i, a := range subnets {
		for _, b := range subnets[i+1:] {
			if a.Overlaps(b) {
				t.Errorf("two engines share a subnet: %v", subnets)
			}
		}
	}
}
