package machine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/containerd/ttrpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/berth-dev/berth/host/driver"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// exitAgent is a fake agent's System service: Version answers, the rest
// is not implemented (the daemon copes, as with an older agent).
type exitAgent struct{}

var errNotImpl = errgrpc.ToGRPC(errdefs.ErrNotImplemented)

func (exitAgent) Version(context.Context, *emptypb.Empty) (*agentv1.VersionResponse, error) {
	return &agentv1.VersionResponse{Version: "fake"}, nil
}
func (exitAgent) Info(context.Context, *emptypb.Empty) (*agentv1.InfoResponse, error) {
	return nil, errNotImpl
}
func (exitAgent) Events(context.Context, *agentv1.EventsRequest, agentv1.TTRPCSystem_EventsServer) error {
	return errNotImpl
}
func (exitAgent) OpenStream(context.Context, *emptypb.Empty) (*agentv1.OpenStreamResponse, error) {
	return nil, errNotImpl
}
func (exitAgent) Shutdown(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return nil, errNotImpl
}
func (exitAgent) ListeningPorts(context.Context, *emptypb.Empty) (*agentv1.ListeningPortsResponse, error) {
	return nil, errNotImpl
}
func (exitAgent) SetTime(context.Context, *agentv1.SetTimeRequest) (*agentv1.SetTimeResponse, error) {
	return nil, errNotImpl
}
func (exitAgent) Shell(context.Context, *agentv1.ShellRequest) (*agentv1.ShellResponse, error) {
	return nil, errNotImpl
}
func (exitAgent) ResizeShell(context.Context, *agentv1.ResizeShellRequest) (*emptypb.Empty, error) {
	return nil, errNotImpl
}
func (exitAgent) NotifyFileEvents(context.Context, *agentv1.FileEventsRequest) (*emptypb.Empty, error) {
	return nil, errNotImpl
}
func (exitAgent) Trim(context.Context, *emptypb.Empty) (*agentv1.TrimResponse, error) {
	return nil, errNotImpl
}

// exitFactory makes drivers whose guest is a fake agent and whose exit
// the test decides: each Start sends its exit channel on starts.
type exitFactory struct {
	vm     bool
	dial   func(context.Context) (net.Conn, error)
	starts chan chan<- error
}

func (f *exitFactory) Name() string     { return "fakeexit" }
func (f *exitFactory) Available() error { return nil }
func (f *exitFactory) New(driver.Instance) (driver.Driver, error) {
	return &exitDriver{f: f}, nil
}

type exitDriver struct {
	f       *exitFactory
	mu      sync.Mutex
	running bool
	exit    chan error
}

func (d *exitDriver) Name() string                                    { return "fakeexit" }
func (d *exitDriver) Features() driver.Features                       { return driver.Features{VM: d.f.vm} }
func (d *exitDriver) Create(context.Context) error                    { return nil }
func (d *exitDriver) Delete(context.Context) error                    { return nil }
func (d *exitDriver) DialAgent(ctx context.Context) (net.Conn, error) { return d.f.dial(ctx) }

func (d *exitDriver) Start(context.Context) (<-chan error, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.running {
		return nil, errdefs.ErrAlreadyExists
	}
	d.running = true
	in, out := make(chan error, 1), make(chan error, 1)
	d.exit = out
	go func() {
		err := <-in
		d.mu.Lock()
		d.running = false
		d.mu.Unlock()
		out <- err
		close(out)
	}()
	d.f.starts <- in
	return out, nil
}

// Stop is asked for: the guest exits with nil, unless it is gone already.
func (d *exitDriver) Stop(context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.running {
		return errors.New("fake guest still running at Stop (the test did not end it)")
	}
	return nil
}

// runExitDaemon runs the daemon of a machine on a fakeexit driver in this
// process and returns the store, the machine, the first start's exit
// channel and the daemon's result.
func runExitDaemon(t *testing.T, vm bool) (*Store, *Machine, *exitFactory, chan<- error, <-chan error) {
	t.Helper()
	f := &exitFactory{vm: vm, starts: make(chan chan<- error, 4),
		dial: serveAgent(t, func(srv *ttrpc.Server) { agentv1.RegisterTTRPCSystemService(srv, exitAgent{}) })}
	spawn := func(name string) (*exec.Cmd, error) {
		return nil, fmt.Errorf("test: no daemon may be spawned for %s", name)
	}
	s := NewStore(t.TempDir(), WithDrivers(driver.NewRegistry(f)), WithDaemonCommand(spawn))
	m, err := s.Create(context.Background(), Config{Name: "x", Driver: "fakeexit"})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	result, ended := make(chan error, 1), make(chan struct{})
	go func() {
		result <- s.RunDaemon(ctx, "x", nil)
		close(ended)
	}()
	var first chan<- error
	select {
	case first = <-f.starts:
	case <-time.After(time.Minute):
		t.Fatal("the daemon did not start the guest")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-ended:
		case <-time.After(time.Minute):
			t.Error("the daemon did not end")
		}
	})
	waitState(t, m, StateRunning)
	return s, m, f, first, result
}

func waitState(t *testing.T, m *Machine, want State) {
	t.Helper()
	for end := time.Now().Add(time.Minute); m.State() != want; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("machine state %s, want %s", m.State(), want)
		}
	}
}

// TestVMExitLeavesMachineStopped: a VM that stops without being asked to
// is not booted again; the daemon exits, the machine reads Stopped, its
// socket and status are gone, and EnsureRunning refuses (no daemon
// spawned) with docker's "cannot connect" and how to start it; Stop or
// Start clear that record. A clean power off from inside stops the
// machine without such a record.
func TestVMExitLeavesMachineStopped(t *testing.T) {
	for _, tc := range []struct {
		name    string
		exit    error
		crashed bool
	}{
		{"qemu killed", errors.New("qemu exited (signal: killed); the console log /x/console.log ends:\n[ 1.0] last line"), true},
		{"power off", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, m, f, first, result := runExitDaemon(t, true)
			first <- tc.exit
			var err error
			select {
			case err = <-result:
			case <-time.After(time.Minute):
				t.Fatal("the daemon did not exit after its VM stopped")
			}
			if tc.crashed != (err != nil) || (err != nil && !strings.Contains(err.Error(), "stopped unexpectedly")) {
				t.Errorf("RunDaemon = %v, want an error only for a crash", err)
			}
			select {
			case <-f.starts:
				t.Error("the VM was started again")
			default:
			}
			if st := m.State(); st != StateStopped {
				t.Errorf("state %s, want Stopped", st)
			}
			for _, file := range []string{daemonSocket, daemonState} {
				if _, err := os.Stat(filepath.Join(m.dir, file)); err == nil {
					t.Errorf("%s left behind", file)
				}
			}
			e, crashed := m.LastExit()
			if crashed != tc.crashed || (crashed && e.Reason != "qemu exited (signal: killed)") {
				t.Fatalf("LastExit = %+v, %v; want the first part of the error only for a crash", e, crashed)
			}
			_, err = s.EnsureRunning(context.Background(), "x", nil)
			if !tc.crashed {
				if err == nil || !strings.Contains(err.Error(), "no daemon may be spawned") {
					t.Errorf("EnsureRunning after a power off = %v, want it to start the machine", err)
				}
				return
			}
			if !errdefs.IsUnavailable(err) || !strings.Contains(err.Error(), `cannot connect to machine "x": it is stopped`) ||
				!strings.Contains(err.Error(), "qemu exited (signal: killed)") || !strings.Contains(err.Error(), "berth machine start x") ||
				strings.Contains(err.Error(), "\n") {
				t.Errorf("EnsureRunning after a crash = %v, want one unavailable line with the reason and berth machine start", err)
			}
			if err := s.Stop(context.Background(), "x"); err != nil {
				t.Fatalf("Stop of the crashed machine: %v", err)
			}
			if _, crashed := m.LastExit(); crashed {
				t.Error("Stop did not clear the record of the crash")
			}
			if err := writeLastExit(m.dir, newExit(tc.exit, time.Now())); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Start(context.Background(), "x", nil); err == nil {
				t.Error("Start with no daemon command succeeded")
			}
			if _, crashed := m.LastExit(); crashed {
				t.Error("Start did not clear the record of the crash")
			}
		})
	}
}

// TestAgentExitRestartedWithoutVM: a driver without a VM (native: the
// agent is the machine) has its agent started again when it dies.
func TestAgentExitRestartedWithoutVM(t *testing.T) {
	_, m, f, first, result := runExitDaemon(t, false)
	first <- errors.New("agent exited (signal: killed)")
	var second chan<- error
	select {
	case second = <-f.starts:
	case err := <-result:
		t.Fatalf("the daemon exited instead of restarting the agent: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("the agent was not started again")
	}
	waitState(t, m, StateRunning)
	if _, crashed := m.LastExit(); crashed {
		t.Error("a restarted agent left a crash record")
	}
	second <- nil // the daemon's Stop at cleanup finds it gone
}
