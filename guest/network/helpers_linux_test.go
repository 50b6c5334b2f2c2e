package network

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/vishvananda/netns"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/guest/internal/testenv"
)

// newNS creates a network namespace bind-mounted under a temp dir and
// removes it when the test ends, whatever happened. Deleting the namespace
// deletes every interface and nftables table in it.
func newNS(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "netns")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		// The thread is never unlocked: it dies with this goroutine, so
		// its new namespace never leaks into Go's thread pool.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("unshare: %w", err)
			return
		}
		src := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
		errc <- unix.Mount(src, p, "", unix.MS_BIND, "")
	}()
	if err := <-errc; err != nil {
		t.Fatalf("create network namespace: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount namespace %s: %v", p, err)
		}
	})
	return p
}

// runIn runs fn on a thread inside the namespace at path.
func runIn(t testing.TB, path string, fn func() error) error {
	t.Helper()
	ns, err := netns.GetFromPath(path)
	if err != nil {
		t.Fatalf("open namespace: %v", err)
	}
	defer ns.Close()
	return inNS(ns, fn)
}

type testEnv struct {
	agentNS string
	dbPath  string
	db      *bolt.DB
	opts    Options
}

// newTestEnv prepares an agent namespace, a database and options that keep
// everything inside the test: bridge names "bt…", subnets 10.251.x.0/24.
func newTestEnv(t testing.TB) *testEnv {
	t.Helper()
	testenv.RequiresRoot(t)
	dir := t.TempDir()
	rc := filepath.Join(dir, "resolv.conf")
	if err := os.WriteFile(rc, []byte("nameserver 127.0.0.53\nsearch example.test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := &testEnv{agentNS: newNS(t), dbPath: filepath.Join(dir, "meta.db")}
	e.openDB(t)
	e.opts = Options{
		NetNS: e.agentNS, DefaultBridge: "bt0", DefaultSubnet: "10.251.0.0/24",
		ResolvConfPath: rc, Upstreams: []string{"127.0.0.1:1"},
	}
	return e
}

func (e *testEnv) openDB(t testing.TB) {
	t.Helper()
	db, err := bolt.Open(e.dbPath, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	e.db = db
	t.Cleanup(func() { db.Close() })
}

// open starts a Manager on the environment, closed at cleanup.
func (e *testEnv) open(t testing.TB) *Manager {
	t.Helper()
	o := e.opts
	o.DB = e.db
	m, err := New(context.Background(), o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func mustCreate(t testing.TB, m *Manager, opts CreateOptions) *Network {
	t.Helper()
	n, err := m.Create(context.Background(), opts)
	if err != nil {
		t.Fatalf("Create %s: %v", opts.Name, err)
	}
	return n
}

func mustAttach(t testing.TB, m *Manager, network, id, ns string, opts AttachOptions) *Endpoint {
	t.Helper()
	ep, err := m.Attach(context.Background(), network, id, ns, opts)
	if err != nil {
		t.Fatalf("Attach %s to %s: %v", id, network, err)
	}
	return ep
}

// Dial timeouts: generous where a connection must work (a loaded machine
// must not fail the test), short where it must be blocked.
const (
	dialOK      = 5 * time.Second
	dialBlocked = 700 * time.Millisecond
)

// tcpProbe listens on addr inside ns srv and dials it from ns cli within
// timeout; it returns the dial error (nil: connected and read a byte).
func tcpProbe(t *testing.T, srv, cli string, addr string, timeout time.Duration) error {
	t.Helper()
	var l net.Listener
	if err := runIn(t, srv, func() (err error) { l, err = net.Listen("tcp4", addr); return err }); err != nil {
		t.Fatalf("listen in server namespace: %v", err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			_, _ = c.Write([]byte{'x'})
			c.Close()
		}
	}()
	var conn net.Conn
	err := runIn(t, cli, func() (err error) {
		conn, err = net.DialTimeout("tcp4", l.Addr().String(), timeout)
		return err
	})
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 1)
	_, err = conn.Read(b)
	return err
}

// containerID returns a docker-like id whose 12-digit short form is unique.
func containerID(i int) string { return fmt.Sprintf("%012x%052x", 0xc0ffee000000+i, i) }
