//go:build linux || darwin

package qemu

import (
	"context"
	"net"
	"path/filepath"
	"time"

	"github.com/containerd/log"
	"github.com/containerd/ttrpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/berth-dev/berth/proto/stream"
)

// Stop phases: how long the agent may take to power the VM off, and how
// long qemu gets after QMP quit before it is killed.
const (
	agentStopGrace = 10 * time.Second
	quitGrace      = 2 * time.Second
	askTimeout     = 2 * time.Second
)

// Stop asks the agent to shut down (System.Shutdown) and waits, then asks
// qemu to quit over QMP, then kills it; each step only while ctx allows.
// It returns once qemu has exited. Stopping a stopped VM returns nil.
func (d *Driver) Stop(ctx context.Context) error {
	d.mu.Lock()
	run := d.run
	d.mu.Unlock()
	if run == nil || run.exited() {
		return nil
	}
	run.stopping.Store(true)
	// Leave the last quitGrace of ctx to QMP quit and the kill.
	graceEnd := time.Now().Add(agentStopGrace)
	if dl, ok := ctx.Deadline(); ok && dl.Add(-2*quitGrace).Before(graceEnd) {
		graceEnd = dl.Add(-2 * quitGrace)
	}
	if time.Until(graceEnd) > askTimeout {
		if err := askShutdown(ctx, run); err != nil {
			log.G(ctx).WithError(err).Debug("agent shutdown request failed; quitting qemu")
		} else if waitDone(ctx, run, time.Until(graceEnd)) {
			return nil
		}
	}
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), quitGrace)
	err := qmpCommand(qctx, filepath.Join(d.inst.Dir, qmpSocket), "quit")
	cancel()
	if err == nil && waitDone(context.WithoutCancel(ctx), run, quitGrace) {
		return nil
	}
	log.G(ctx).WithField("machine", d.inst.Name).Warn("qemu did not quit; killing it")
	d.kill(run)
	return nil
}

// waitDone waits up to d for qemu to exit, or until ctx ends.
func waitDone(ctx context.Context, run *vmRun, d time.Duration) bool {
	if d <= 0 {
		return run.exited()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-run.done:
		return true
	case <-ctx.Done():
		return run.exited()
	case <-t.C:
		return false
	}
}

// askShutdown calls the agent's System.Shutdown.
func askShutdown(ctx context.Context, run *vmRun) error {
	ctx, cancel := context.WithTimeout(ctx, askTimeout)
	defer cancel()
	conn, err := stream.Open(func() (net.Conn, error) { return run.dialer.Dial(ctx) }, stream.Header{Kind: stream.KindTTRPC})
	if err != nil {
		return err
	}
	cl := ttrpc.NewClient(conn)
	defer cl.Close()
	return cl.Call(ctx, "berth.agent.v1.System", "Shutdown", &emptypb.Empty{}, &emptypb.Empty{})
}
