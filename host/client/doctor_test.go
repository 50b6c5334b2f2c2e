package client

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/host/forward"
	"github.com/berth-dev/berth/host/internal/testbin"
	"github.com/berth-dev/berth/host/internal/testenv"
	"github.com/berth-dev/berth/host/machine"
)

// TestDoctorStoppedMachine runs doctor against a stopped native machine:
// the driver is fine, the image is not needed, the daemon check fails with
// how to start it, and the command exits 1.
func TestDoctorStoppedMachine(t *testing.T) {
	testenv.RequiresRoot(t)
	home := t.TempDir()
	if _, err := machine.NewStore(home).Create(context.Background(), machine.Config{Name: "dr", Driver: "native"}); err != nil {
		t.Fatalf("create machine: %v", err)
	}
	var out bytes.Buffer
	c := &cli{home: home, machine: "dr", out: &out, errOut: &out}
	err := c.doctor(context.Background())
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Fatalf("doctor = %v, want exit 1", err)
	}
	for _, want := range []string{
		"[ok] virtualization: driver native can run here",
		"[ok] VM image: not needed by the native driver",
		`[fail] machine daemon: machine "dr" is stopped; start it: berth machine start dr`,
		"[warn] clock: not checked",
		"[ok] folder shares: not needed",
		"[warn] port forwarding: not checked: the machine is not running",
	} {
		if !strings.Contains(out.String(), want+"") {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestDoctorNoMachine: a missing default machine is a warning, not a failure.
func TestDoctorNoMachine(t *testing.T) {
	testenv.RequiresRoot(t)
	var out bytes.Buffer
	c := &cli{home: t.TempDir(), machine: "default", out: &out, errOut: &out}
	if err := c.doctor(context.Background()); err != nil {
		t.Fatalf("doctor = %v, want success\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), `[warn] machine daemon: machine "default" does not exist`) {
		t.Errorf("output:\n%s", out.String())
	}
}

// TestDoctorUnavailableDriver: a machine whose driver cannot run here fails
// the virtualization check with the registry's reason.
func TestDoctorUnavailableDriver(t *testing.T) {
	var out bytes.Buffer
	d := &doctor{w: &out}
	if f := d.checkDriver(machine.Drivers(), "vz"); f != nil || d.fails != 1 {
		t.Fatalf("checkDriver(vz) on linux = %v, fails %d", f, d.fails)
	}
	if !strings.Contains(out.String(), `[fail] virtualization: driver vz: driver "vz" does not run on linux`) {
		t.Errorf("output: %s", out.String())
	}
}

// TestDoctorRunningNative runs doctor against a running native machine
// (the daemon in this process, the real berth-agent as its agent): every
// check but the port-forward line passes and the command succeeds.
func TestDoctorRunningNative(t *testing.T) {
	testenv.RequiresRoot(t)
	bin := t.TempDir()
	if _, err := testbin.Build(bin, "./cmd/berth-agent"); err != nil {
		t.Fatalf("build berth-agent: %v", err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	home := t.TempDir()
	store := machine.NewStore(home)
	if _, err := store.Create(context.Background(), machine.Config{Name: "dr", Driver: "native"}); err != nil {
		t.Fatalf("create machine: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- store.RunDaemon(ctx, "dr", io.Discard) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
	})
	var out bytes.Buffer
	c := &cli{home: home, machine: "dr", out: &out, errOut: &out}
	deadline := time.Now().Add(machine.StartTimeout)
	for {
		out.Reset()
		err := c.doctor(context.Background())
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("doctor never passed: %v\n%s", err, out.String())
		}
		select {
		case err := <-done:
			t.Fatalf("daemon exited: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	for _, want := range []string{
		`[ok] machine daemon: machine "dr" answers (agent `,
		"[ok] clock: in step with the host",
		"[ok] folder shares: not needed",
		"[ok] port forwarding: no published TCP ports to test",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestProbeTCP(t *testing.T) {
	listen := func(t *testing.T, serve func(net.Conn)) string {
		t.Helper()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				go serve(c)
			}
		}()
		return l.Addr().String()
	}
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	tests := []struct {
		name string
		addr func(t *testing.T) string
		want string // "" = reached
	}{
		{"answers", func(t *testing.T) string {
			return listen(t, func(c net.Conn) { c.Write([]byte("hi")); <-hold; c.Close() })
		}, ""},
		{"stays open", func(t *testing.T) string { return listen(t, func(c net.Conn) { <-hold; c.Close() }) }, ""},
		{"closed at once", func(t *testing.T) string { return listen(t, func(c net.Conn) { c.Close() }) }, "closed the connection at once"},
		{"nothing listens", func(t *testing.T) string {
			l, _ := net.Listen("tcp", "127.0.0.1:0")
			a := l.Addr().String()
			l.Close()
			return a
		}, "cannot connect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := probeTCP(context.Background(), tt.addr(t))
			if tt.want == "" && err != nil {
				t.Errorf("probeTCP = %v, want reached", err)
			}
			if tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("probeTCP = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestForwardAddr(t *testing.T) {
	f := forward.Forward{Binding: forward.Binding{Proto: forward.TCP, HostPort: 8080}}
	if got := forwardAddr(f); got != "127.0.0.1:8080" {
		t.Errorf("forwardAddr(any) = %q", got)
	}
	f.HostIP = netip.MustParseAddr("::1")
	if got := forwardAddr(f); got != "[::1]:8080" {
		t.Errorf("forwardAddr(::1) = %q", got)
	}
}
