package machine

import (
	"context"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/containerd/ttrpc"

	"github.com/berth-dev/berth/host/driver"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
	"github.com/berth-dev/berth/proto/stream"
)

func TestWallJump(t *testing.T) {
	base := readClock()
	for _, tc := range []struct {
		name       string
		wall, mono time.Duration // how far each clock moved
		want       time.Duration
	}{
		{"awake", time.Minute, time.Minute, 0},
		{"slept ten minutes", 11 * time.Minute, time.Minute, 10 * time.Minute},
		{"clock stepped back", 10 * time.Second, 70 * time.Second, -time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cur := clockReading{wall: base.wall.Add(tc.wall), mono: base.mono.Add(tc.mono)}
			if got := wallJump(base, cur); got != tc.want {
				t.Fatalf("wallJump = %s, want %s", got, tc.want)
			}
		})
	}
	// A real reading: both clocks moved alike.
	if j := wallJump(base, readClock()); j.Abs() >= clockJumpMin {
		t.Errorf("wallJump between two readings now = %s", j)
	}
}

// fakeSystem is an agent System service that records SetTime calls.
type fakeSystem struct {
	agentv1.TTRPCSystemService // other methods are not called
	err                        error
	mu                         sync.Mutex
	calls                      []time.Time
	called                     chan struct{}
}

func (f *fakeSystem) SetTime(ctx context.Context, req *agentv1.SetTimeRequest) (*agentv1.SetTimeResponse, error) {
	f.mu.Lock()
	f.calls = append(f.calls, req.GetTime().AsTime())
	f.mu.Unlock()
	f.called <- struct{}{}
	if f.err != nil {
		return nil, errgrpc.ToGRPC(f.err)
	}
	return &agentv1.SetTimeResponse{OffsetNanos: int64(time.Hour), Stepped: true}, nil
}

// headerListener drops each connection's stream header, as the agent does.
type headerListener struct{ net.Listener }

func (l headerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if _, err := stream.Read(c); err == nil {
			return c, nil
		}
		c.Close()
	}
}

// serveFake serves f on a unix socket and returns a dialer for it.
func serveFake(t *testing.T, f *fakeSystem) func(context.Context) (net.Conn, error) {
	t.Helper()
	return serveAgent(t, func(srv *ttrpc.Server) { agentv1.RegisterTTRPCSystemService(srv, f) })
}

// serveAgent serves the fake agent services register adds on a unix
// socket until the test ends and returns a dialer for it.
func serveAgent(t *testing.T, register func(*ttrpc.Server)) func(context.Context) (net.Conn, error) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ttrpc.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	register(srv)
	go srv.Serve(context.Background(), headerListener{l})
	t.Cleanup(func() { srv.Close() })
	return func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}
}

// TestClockKeeper checks the push when the agent comes up (the host's
// current time) and that an agent without SetTime ends the keeper.
func TestClockKeeper(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      error
		endsSelf bool
	}{
		{"pushes the host time", nil, false},
		{"agent without SetTime", errdefs.ErrNotImplemented, true},
		{"failing agent keeps trying", errdefs.ErrUnavailable, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeSystem{err: tc.err, called: make(chan struct{}, 8)}
			c := &clockKeeper{dial: serveFake(t, f)}
			done := make(chan struct{})
			ended := make(chan struct{})
			before := time.Now()
			go func() { c.run(context.Background(), done); close(ended) }()
			select {
			case <-f.called:
			case <-time.After(30 * time.Second):
				t.Fatal("no SetTime call when the agent came up")
			}
			after := time.Now()
			f.mu.Lock()
			got := f.calls[0]
			f.mu.Unlock()
			if got.Before(before.Round(0)) || got.After(after.Round(0)) {
				t.Errorf("pushed %v, want the host's time between %v and %v", got, before, after)
			}
			if tc.endsSelf {
				select {
				case <-ended:
				case <-time.After(30 * time.Second):
					t.Fatal("the keeper went on with an agent that cannot set its clock")
				}
				return
			}
			close(done)
			select {
			case <-ended:
			case <-time.After(30 * time.Second):
				t.Fatal("the keeper did not end with its agent run")
			}
		})
	}
}

// clockDriver is a driver with or without a VM whose agent is f.
type clockDriver struct {
	driver.Driver
	vm   bool
	dial func(context.Context) (net.Conn, error)
}

func (d clockDriver) Features() driver.Features { return driver.Features{VM: d.vm} }
func (d clockDriver) DialAgent(ctx context.Context) (net.Conn, error) {
	return d.dial(ctx)
}

// TestKeepClockNative checks that the native driver's agent (on the host)
// is never asked to set the clock, while a VM's is.
func TestKeepClockNative(t *testing.T) {
	for _, vm := range []bool{false, true} {
		name := map[bool]string{false: "native", true: "vm"}[vm]
		t.Run(name, func(t *testing.T) {
			f := &fakeSystem{called: make(chan struct{}, 8)}
			dm := &daemon{d: clockDriver{vm: vm, dial: serveFake(t, f)}}
			run := &agentRun{done: make(chan struct{})}
			ended := make(chan struct{})
			go func() { dm.keepClock(context.Background(), run); close(ended) }()
			if vm {
				<-f.called
				close(run.done)
			}
			select {
			case <-ended:
			case <-time.After(30 * time.Second):
				t.Fatal("keepClock did not return")
			}
			f.mu.Lock()
			n := len(f.calls)
			f.mu.Unlock()
			if want := map[bool]int{false: 0, true: 1}[vm]; n != want {
				t.Errorf("%d SetTime calls, want %d", n, want)
			}
		})
	}
}
