// Package drivertest is the suite every driver runs: start, reach the agent,
// many connections, stop (idempotent), delete. A driver's test calls Run
// with a function that returns a new driver for a fresh machine dir.
package drivertest

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/ttrpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/berth-dev/berth/host/driver"
	"github.com/berth-dev/berth/host/transport"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
	"github.com/berth-dev/berth/proto/stream"
)

// StartTimeout bounds how long a guest may take to answer; VM drivers under
// emulation are slow.
var StartTimeout = 3 * time.Minute

// New returns a driver for a new machine (dir from t.TempDir()).
type New func(t *testing.T) driver.Driver

// Run runs the suite against the drivers newDriver makes.
func Run(t *testing.T, newDriver New) {
	t.Run("StopAndDeleteBeforeStart", func(t *testing.T) { testStopBeforeStart(t, newDriver(t)) })
	t.Run("Lifecycle", func(t *testing.T) { testLifecycle(t, newDriver(t)) })
	t.Run("ConcurrentConnections", func(t *testing.T) { testConcurrent(t, newDriver(t)) })
}

func testStopBeforeStart(t *testing.T, d driver.Driver) {
	ctx := context.Background()
	if d.Name() == "" {
		t.Errorf("Name() is empty")
	}
	if err := d.Stop(ctx); err != nil {
		t.Errorf("Stop before Start = %v, want nil (Stop must be idempotent)", err)
	}
	if err := d.Delete(ctx); err != nil {
		t.Errorf("Delete before Create = %v, want nil", err)
	}
}

// start creates and starts d, waits for the agent, and stops d at cleanup.
func start(t *testing.T, d driver.Driver) <-chan error {
	t.Helper()
	ctx := context.Background()
	if err := d.Create(ctx); err != nil {
		t.Fatalf("Create: %v", err)
	}
	exited, err := d.Start(ctx)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := d.Stop(sctx); err != nil {
			t.Errorf("Stop at cleanup: %v", err)
		}
	})
	wctx, cancel := context.WithTimeout(ctx, StartTimeout)
	defer cancel()
	for {
		err := version(wctx, d)
		if err == nil {
			return exited
		}
		select {
		case err := <-exited:
			t.Fatalf("guest exited while starting: %v", err)
		case <-wctx.Done():
			t.Fatalf("agent never answered: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// version calls System.Version on a fresh agent connection.
func version(ctx context.Context, d driver.Driver) error {
	dial := func() (net.Conn, error) { return transport.Retry(ctx, transport.DialFunc(d.DialAgent), nil) }
	conn, err := stream.Open(dial, stream.Header{Kind: stream.KindTTRPC})
	if err != nil {
		return err
	}
	cl := ttrpc.NewClient(conn)
	defer cl.Close()
	var r agentv1.VersionResponse
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := cl.Call(cctx, "berth.agent.v1.System", "Version", &emptypb.Empty{}, &r); err != nil {
		return err
	}
	if r.Version == "" || r.ApiVersion == "" {
		return errors.New("agent answered Version with an empty version")
	}
	return nil
}

func testLifecycle(t *testing.T, d driver.Driver) {
	ctx := context.Background()
	exited := start(t, d)
	if _, err := d.Start(ctx); !errdefs.IsAlreadyExists(err) {
		t.Errorf("second Start = %v, want an already-exists error", err)
	}
	if err := d.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit channel after Stop = %v, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("exit channel got nothing after Stop returned")
	}
	if _, ok := <-exited; ok {
		t.Errorf("exit channel not closed after its one value")
	}
	if err := d.Stop(ctx); err != nil {
		t.Errorf("second Stop = %v, want nil (Stop must be idempotent)", err)
	}
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if c, err := d.DialAgent(dctx); err == nil {
		c.Close()
		t.Errorf("DialAgent after Stop succeeded")
	}
	if err := d.Delete(ctx); err != nil {
		t.Errorf("Delete: %v", err)
	}
	if err := d.Delete(ctx); err != nil {
		t.Errorf("second Delete = %v, want nil", err)
	}
}

func testConcurrent(t *testing.T, d driver.Driver) {
	start(t, d)
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			errs <- version(ctx, d)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent Version: %v", err)
		}
	}
}
