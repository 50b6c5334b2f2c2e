//go:build linux

package agent

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"google.golang.org/protobuf/types/known/timestamppb"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// TestSetTimeOwnTime calls SetTime with the host's own time: the offset is
// within the tolerance and the clock is left alone. (It never steps the
// test machine's clock: a step would need an offset over 50 ms.)
func TestSetTimeOwnTime(t *testing.T) {
	y := &systemService{}
	resp, err := y.SetTime(context.Background(), &agentv1.SetTimeRequest{Time: timestamppb.Now()})
	if err != nil {
		t.Fatalf("SetTime: %v", err)
	}
	if resp.Stepped {
		t.Errorf("stepped = true for the machine's own time (offset %s)", time.Duration(resp.OffsetNanos))
	}
	if off := time.Duration(resp.OffsetNanos); off < 0 || off > clockTolerance {
		t.Errorf("offset = %s, want between 0 and %s (the VM clock read after the host's)", off, clockTolerance)
	}
}

// TestSetTimeInvalid checks the request validation.
func TestSetTimeInvalid(t *testing.T) {
	y := &systemService{}
	for _, tc := range []struct {
		name string
		req  *agentv1.SetTimeRequest
	}{
		{"no time", &agentv1.SetTimeRequest{}},
		{"bad nanos", &agentv1.SetTimeRequest{Time: &timestamppb.Timestamp{Seconds: 1, Nanos: -1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := y.SetTime(context.Background(), tc.req)
			if !errdefs.IsInvalidArgument(err) {
				t.Fatalf("err = %v, want invalid argument", err)
			}
		})
	}
}

// TestStepClock checks the decision and the offset's sign with a fake
// clock setter.
func TestStepClock(t *testing.T) {
	host := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	failSet := errors.New("EPERM")
	for _, tc := range []struct {
		name    string
		now     time.Time
		setErr  error
		stepped bool
		wantErr bool
	}{
		{"same", host, nil, false, false},
		{"within tolerance ahead", host.Add(40 * time.Millisecond), nil, false, false},
		{"within tolerance behind", host.Add(-50 * time.Millisecond), nil, false, false},
		{"behind an hour", host.Add(-time.Hour), nil, true, false},
		{"ahead", host.Add(60 * time.Millisecond), nil, true, false},
		{"set fails", host.Add(time.Minute), failSet, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got time.Time
			set := func(t time.Time) error { got = t; return tc.setErr }
			off, stepped, err := stepClock(host, tc.now, clockTolerance, set)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if stepped != tc.stepped {
				t.Errorf("stepped = %v, want %v", stepped, tc.stepped)
			}
			if want := tc.now.Sub(host); off != want {
				t.Errorf("offset = %s, want %s", off, want)
			}
			if tc.stepped && !got.Equal(host) {
				t.Errorf("clock set to %v, want %v", got, host)
			}
			if !tc.stepped && !tc.wantErr && !got.IsZero() {
				t.Errorf("clock set to %v although within tolerance", got)
			}
		})
	}
}
