package native

import (
	"context"
	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/driver"
	"github.com/berth-dev/berth/host/driver/drivertest"
	"github.com/berth-dev/berth/host/internal/testbin"
	"github.com/berth-dev/berth/host/internal/testenv"
)

// agentNote says whether the tests run the real agent.
var agentNote string

func TestMain(m *testing.M) {
	testbin.RunFakeAgent()
	os.Exit(testbin.RunWithAgent(m, &agentNote))
}

func newDriver(t *testing.T) driver.Driver {
	d, err := Factory{}.New(driver.Instance{Name: "t", Dir: t.TempDir(), Log: testLog{t}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return d
}

// testLog sends the agent's output to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Logf("agent: %s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestDriverSuite(t *testing.T) {
	testenv.RequiresRoot(t)
	t.Log("using", agentNote)
	drivertest.Run(t, newDriver)
}

func TestAgentArgs(t *testing.T) {
	d := &Driver{inst: driver.Instance{Name: "m1", Dir: "/x/m1", InsecureRegistries: []string{"r1:5000", "r2"}}}
	got := strings.Join(d.args(), " ")
	want := "--data-dir /x/m1/data --socket /x/m1/agent.sock --name m1 --network-id " + NetworkID("/x/m1") + " --insecure-registry r1:5000 --insecure-registry r2"
	if got != want {
		t.Errorf("args = %q\nwant  %q", got, want)
	}
}

// TestNetworkID: every machine dir gets its own short id, usable in an
// interface name (berth-<id> is at most 15 bytes), the same for the same
// dir however it is spelled.
func TestNetworkID(t *testing.T) {
	a, b := NetworkID("/home/u/.local/share/berth/machines/default"), NetworkID("/tmp/x/machines/default")
	if a == b || len(a) != 8 || len("berth-"+a) > 15 {
		t.Errorf("NetworkID: %q and %q", a, b)
	}
	if NetworkID("/tmp/x/machines/default/") != b {
		t.Error("NetworkID depends on a trailing slash")
	}
}

func TestAgentNotFound(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := FindAgent()
	if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "run make build") {
		t.Fatalf("FindAgent with no agent = %v, want a not-found error saying to run make build", err)
	}
}

// TestLeftoverAgentStopped: an agent that outlived its daemon (pid file
// left behind) is stopped by the next Start, which then succeeds.
func TestLeftoverAgentStopped(t *testing.T) {
	testenv.RequiresRoot(t)
	dir := t.TempDir()
	d1 := &Driver{inst: driver.Instance{Name: "t", Dir: dir}}
	if _, err := d1.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	d1.mu.Lock()
	d1done := d1.done
	d1.mu.Unlock()
	t.Cleanup(func() { d1.Stop(context.Background()) })
	b, err := os.ReadFile(filepath.Join(dir, agentPID))
	if err != nil {
		t.Fatalf("no pid file after Start: %v", err)
	}
	// A second driver value for the same machine, as a new daemon would have.
	d2 := &Driver{inst: driver.Instance{Name: "t", Dir: dir}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	exited, err := d2.Start(ctx)
	if err != nil {
		t.Fatalf("Start with a leftover agent (pid %s): %v", strings.TrimSpace(string(b)), err)
	}
	t.Cleanup(func() { d2.Stop(context.Background()) })
	select {
	case err := <-exited:
		t.Fatalf("new agent exited: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	select {
	case <-d1done:
	case <-time.After(10 * time.Second):
		t.Errorf("leftover agent still runs")
	}
}

func TestNotRootRefused(t *testing.T) {
	geteuid = func() int { return 1000 }
	t.Cleanup(func() { geteuid = os.Geteuid })
	err := Factory{}.Available()
	if !errdefs.IsFailedPrecondition(err) || !strings.Contains(err.Error(), "the native driver needs root") {
		t.Fatalf("Available as non-root = %v", err)
	}
	d := &Driver{inst: driver.Instance{Name: "t", Dir: t.TempDir()}}
	if _, err := d.Start(context.Background()); !errdefs.IsFailedPrecondition(err) {
		t.Fatalf("Start as non-root = %v, want the needs-root error", err)
	}
}

// TestMachinesHaveTheirOwnNetwork: two native machines on one host get a
// default bridge and an nftables table each (berth-<id>), and Delete
// removes them.
func TestMachinesHaveTheirOwnNetwork(t *testing.T) {
	testenv.RequiresRoot(t)
	if !strings.HasPrefix(agentNote, "real") {
		t.Skipf("needs the real berth-agent, have %s", agentNote)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var ds []*Driver
	for _, name := range []string{"n1", "n2"} {
		d := &Driver{inst: driver.Instance{Name: name, Dir: t.TempDir(), Log: testLog{t}}}
		if _, err := d.Start(ctx); err != nil {
			t.Fatalf("Start %s: %v", name, err)
		}
		t.Cleanup(func() { d.Stop(context.Background()); d.Delete(context.Background()) })
		ds = append(ds, d)
	}
	for _, d := range ds {
		name := "berth-" + NetworkID(d.inst.Dir)
		deadline := time.Now().Add(time.Minute)
		for !hostHas(name) {
			if time.Now().After(deadline) {
				t.Fatalf("machine %s: no bridge and nftables table %s", d.inst.Name, name)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	var subnets []*net.IPNet
	for _, d := range ds {
		l, _ := netlink.LinkByName("berth-" + NetworkID(d.inst.Dir))
		addrs, err := netlink.AddrList(l, netlink.FAMILY_V4)
		if err != nil || len(addrs) == 0 {
			t.Fatalf("bridge of %s has no address: %v", d.inst.Name, err)
		}
		subnets = append(subnets, addrs[0].IPNet)
	}
	if subnets[0].Contains(subnets[1].IP) || subnets[1].Contains(subnets[0].IP) {
		t.Errorf("the machines' bridges overlap: %v and %v", subnets[0], subnets[1])
	}
	for _, d := range ds {
		if err := d.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if err := d.Delete(ctx); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if name := "berth-" + NetworkID(d.inst.Dir); hostLink(name) || hostTable(name) {
			t.Errorf("Delete left %s behind (link %v, table %v)", name, hostLink(name), hostTable(name))
		}
	}
}

func hostHas(name string) bool { return hostLink(name) && hostTable(name) }

func hostLink(name string) bool {
	_, err := netlink.LinkByName(name)
	return err == nil
}

func hostTable(name string) bool {
	c, err := nftables.New()
	if err != nil {
		return false
	}
	_, err = c.ListTableOfFamily(name, nftables.TableFamilyIPv4)
	return err == nil
}

// TestScrubNetworks: the bridge and table of a machine whose dir was
// deleted without `machine rm` go at the next native start; those of a
// machine that still exists stay.
func TestScrubNetworks(t *testing.T) {
	testenv.RequiresRoot(t)
	old := networkRegistry
	networkRegistry = t.TempDir()
	t.Cleanup(func() { networkRegistry = old })
	alive, gone := t.TempDir(), filepath.Join(t.TempDir(), "deleted")
	for _, dir := range []string{alive, gone} {
		id := NetworkID(dir)
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "berth-" + id}}
		if err := netlink.LinkAdd(br); err != nil {
			t.Fatalf("add bridge: %v", err)
		}
		t.Cleanup(func() { removeHostNetwork(id) })
		c, err := nftables.New()
		if err != nil {
			t.Fatal(err)
		}
		c.AddTable(&nftables.Table{Name: "berth-" + id, Family: nftables.TableFamilyIPv4})
		if err := c.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := registerNetwork(id, dir); err != nil {
			t.Fatal(err)
		}
	}
	scrubNetworks(context.Background())
	if name := "berth-" + NetworkID(gone); hostLink(name) || hostTable(name) {
		t.Errorf("the deleted machine's %s is still there", name)
	}
	if name := "berth-" + NetworkID(alive); !hostHas(name) {
		t.Errorf("the live machine's %s was removed", name)
	}
	if _, err := os.Stat(filepath.Join(networkRegistry, NetworkID(gone))); err == nil {
		t.Error("the deleted machine's registry entry is still there")
	}
}
