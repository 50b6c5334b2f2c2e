package machine

import (
	"context"
	"net"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/containerd/log"
	"google.golang.org/protobuf/types/known/timestamppb"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// Clock sync timings. A VM's clock stops while the host sleeps (the VM is
// frozen with it) and drifts under load, so the daemon pushes the host's
// time (System.SetTime; the agent steps its clock only when it is off by
// more than its tolerance) when the agent comes up, every clockPushEvery,
// and as soon as a clock check finds that the host slept.
//
// Sleep is detected without any extra wake-up source: every
// clockCheckEvery the daemon compares how far the wall clock moved
// (time.Now().Round(0), which strips the monotonic reading) with how far
// the monotonic clock moved (time.Since on a time.Now() value). Go's
// monotonic clock is CLOCK_MONOTONIC on Linux and mach_absolute_time on
// macOS, neither of which advances while the host is suspended, whereas the
// wall clock does; a difference over clockJumpMin means the host slept (or
// its clock was stepped, which also calls for a push). Where the monotonic
// clock does count suspended time (Windows), the overdue check simply
// fires right after resume and the regular push catches up.
const (
	clockPushEvery  = time.Minute
	clockCheckEvery = 10 * time.Second
	clockJumpMin    = 2 * time.Second
	clockCallWait   = 5 * time.Second
)

// clockReading is one reading of both clocks.
type clockReading struct {
	wall time.Time // without monotonic reading
	mono time.Time // with it
}

func readClock() clockReading {
	now := time.Now()
	return clockReading{wall: now.Round(0), mono: now}
}

// wallJump is how much further the wall clock moved than the monotonic
// clock between two readings: about the time the host slept in between,
// or a step of the host's clock.
func wallJump(prev, cur clockReading) time.Duration {
	return cur.wall.Sub(prev.wall) - cur.mono.Sub(prev.mono)
}

// keepClock keeps the guest's clock on the host's for one agent run, until
// ctx ends or the agent exits. It does nothing for drivers without a VM:
// the native agent runs on the host, whose clock must never be set.
func (dm *daemon) keepClock(ctx context.Context, run *agentRun) {
	if !dm.d.Features().VM {
		return
	}
	c := &clockKeeper{dial: dm.d.DialAgent}
	c.run(ctx, run.done)
}

// clockKeeper pushes the host's time to the agent.
type clockKeeper struct {
	dial   func(context.Context) (net.Conn, error)
	failed bool // the last push failed (log the next failure quietly)
}

// run pushes now, then on schedule and after a sleep, until ctx ends or
// done is closed.
func (c *clockKeeper) run(ctx context.Context, done <-chan struct{}) {
	if !c.push(ctx, "agent ready") {
		return
	}
	prev, lastPush := readClock(), time.Now()
	t := time.NewTicker(clockCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-done:
			return
		case <-t.C:
		}
		cur := readClock()
		jump := wallJump(prev, cur)
		prev = cur
		why := ""
		switch {
		case jump.Abs() >= clockJumpMin:
			why = "host clock jumped by " + jump.Round(time.Second).String() + " (resume from sleep or clock step)"
		case time.Since(lastPush) >= clockPushEvery:
			why = "periodic"
		default:
			continue
		}
		if !c.push(ctx, why) {
			return
		}
		lastPush = time.Now()
	}
}

// push sends the host's time once. It reports false when the agent cannot
// set its clock at all (an agent without SetTime): pushing again is futile.
func (c *clockKeeper) push(ctx context.Context, why string) bool {
	resp, err := c.setTime(ctx)
	lg := log.G(ctx).WithField("reason", why)
	switch {
	case errdefs.IsNotImplemented(err):
		lg.WithError(err).Warn("the agent cannot sync its clock; the VM's time may drift")
		return false
	case err != nil:
		if !c.failed && ctx.Err() == nil {
			lg.WithError(err).Warn("clock sync failed")
		}
		c.failed = true
		return true
	}
	c.failed = false
	off := time.Duration(resp.GetOffsetNanos())
	if resp.GetStepped() {
		lg.WithField("offset", off).Info("guest clock set to the host's time")
	} else {
		lg.WithField("offset", off).Debug("guest clock in step")
	}
	return true
}

// setTime calls System.SetTime on a fresh agent connection with the time
// taken right before the call.
func (c *clockKeeper) setTime(ctx context.Context) (*agentv1.SetTimeResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, clockCallWait)
	defer cancel()
	cl, err := ttrpcClient(ctx, c.dial)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	resp, err := agentv1.NewTTRPCSystemClient(cl).SetTime(ctx, &agentv1.SetTimeRequest{Time: timestamppb.Now()})
	return resp, errgrpc.ToNative(err)
}
