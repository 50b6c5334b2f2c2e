//go:build linux

package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"golang.org/x/sys/unix"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// clockTolerance is how far the VM clock may be off the host's before
// SetTime steps it. The host's time travels over a ttrpc call (well under
// a millisecond on vsock, a few under TCG), so a smaller offset is noise,
// and stepping for noise would make the clock jitter for no gain.
const clockTolerance = 50 * time.Millisecond

// SetTime steps CLOCK_REALTIME to the host's time when they differ by more
// than clockTolerance. It is meant for the VM only: the machine daemon
// never calls it for the native driver, whose agent shares the host clock.
func (y *systemService) SetTime(ctx context.Context, req *agentv1.SetTimeRequest) (*agentv1.SetTimeResponse, error) {
	if req.GetTime() == nil {
		return nil, fmt.Errorf("set time: no time given: %w", errdefs.ErrInvalidArgument)
	}
	if err := req.GetTime().CheckValid(); err != nil {
		return nil, fmt.Errorf("set time: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	host := req.GetTime().AsTime()
	offset, stepped, err := stepClock(host, time.Now(), clockTolerance, clockSettime)
	if err != nil {
		return nil, err
	}
	if stepped {
		log.G(ctx).WithField("offset", offset).Info("clock stepped to the host's time")
	}
	return &agentv1.SetTimeResponse{OffsetNanos: int64(offset), Stepped: stepped}, nil
}

// stepClock compares now (the VM clock) with host and calls set with the
// host's time when they differ by more than tolerance. It returns the
// offset (VM minus host) and whether the clock was set.
func stepClock(host, now time.Time, tolerance time.Duration, set func(time.Time) error) (time.Duration, bool, error) {
	offset := now.Round(0).Sub(host)
	if offset.Abs() <= tolerance {
		return offset, false, nil
	}
	if err := set(host); err != nil {
		return offset, false, fmt.Errorf("set the clock (off by %s): %w", offset, err)
	}
	return offset, true, nil
}

// clockSettime sets CLOCK_REALTIME.
func clockSettime(t time.Time) error {
	ts := unix.NsecToTimespec(t.UnixNano())
	return unix.ClockSettime(unix.CLOCK_REALTIME, &ts)
}
