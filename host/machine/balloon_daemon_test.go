package machine

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/containerd/ttrpc"

	"github.com/berth-dev/berth/host/driver"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// fakeContainers answers List with running, and records whether the
// request asked for stopped containers too.
type fakeContainers struct {
	agentv1.TTRPCContainersService // other methods are not called
	running                        int
	mu                             sync.Mutex
	sawAll                         bool
}

func (f *fakeContainers) List(ctx context.Context, req *agentv1.ListContainersRequest) (*agentv1.ListContainersResponse, error) {
	f.mu.Lock()
	f.sawAll = f.sawAll || req.All
	f.mu.Unlock()
	resp := &agentv1.ListContainersResponse{}
	for range f.running {
		resp.Containers = append(resp.Containers, &agentv1.ContainerSummary{Id: "c"})
	}
	return resp, nil
}

func serveContainers(t *testing.T, f *fakeContainers) func(context.Context) (net.Conn, error) {
	t.Helper()
	return serveAgent(t, func(srv *ttrpc.Server) { agentv1.RegisterTTRPCContainersService(srv, f) })
}

// TestAnyRunning asks a fake agent whether containers run (only the
// running ones: All is never set).
func TestAnyRunning(t *testing.T) {
	for _, n := range []int{0, 2} {
		f := &fakeContainers{running: n}
		got, err := anyRunning(context.Background(), serveContainers(t, f))
		if err != nil || got != (n > 0) || f.sawAll {
			t.Errorf("%d running: anyRunning = %v, %v (asked for all: %v)", n, got, err, f.sawAll)
		}
	}
}

// balloonDriver is a VM driver with a balloon that records its targets.
type balloonDriver struct {
	driver.Driver
	vm      bool
	targets chan uint64
}

func (d balloonDriver) Features() driver.Features { return driver.Features{VM: d.vm} }
func (d balloonDriver) SetMemoryTarget(_ context.Context, b uint64) error {
	d.targets <- b
	return nil
}

// noBalloonDriver is a VM driver without a balloon.
type noBalloonDriver struct{ driver.Driver }

func (noBalloonDriver) Features() driver.Features { return driver.Features{VM: true} }

// TestStartBalloon: only a VM driver with a balloon gets a keeper, and a
// client connection (the daemon's track) makes it set the full memory at
// once.
func TestStartBalloon(t *testing.T) {
	m := &Machine{Name: "b", Config: Config{Memory: 2 << 30}}
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); wg.Wait() }()
	for _, d := range []driver.Driver{noBalloonDriver{}, balloonDriver{vm: false, targets: make(chan uint64, 1)}} {
		dm := &daemon{m: m, d: d, conns: map[net.Conn]struct{}{}}
		if b := dm.startBalloon(ctx, &wg); b != nil {
			t.Errorf("%T (VM %v) got a balloon keeper", d, d.Features().VM)
		}
	}
	d := balloonDriver{vm: true, targets: make(chan uint64, 4)}
	dm := &daemon{m: m, d: d, conns: map[net.Conn]struct{}{}}
	if dm.balloon = dm.startBalloon(ctx, &wg); dm.balloon == nil {
		t.Fatal("a VM driver with a balloon got no keeper")
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	dm.track(a, true)
	select {
	case got := <-d.targets:
		if got != 2<<30 {
			t.Errorf("target %d after a client connected, want %d", got, 2<<30)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a client connection did not set the memory target")
	}
	if n := dm.clientCount(); n != 1 {
		t.Errorf("clientCount = %d, want 1", n)
	}
}
