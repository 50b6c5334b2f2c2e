package machine

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestNewBalloonPolicy(t *testing.T) {
	for _, tc := range []struct {
		full, idle uint64
	}{
		{256 << 20, 256 << 20}, // never above full
		{512 << 20, 512 << 20},
		{2 << 30, 512 << 20}, // at least balloonIdleMin
		{16 << 30, 4 << 30},  // a quarter
	} {
		p := newBalloonPolicy(tc.full)
		if p.full != tc.full || p.idle != tc.idle || p.idleAfter != balloonIdleAfter {
			t.Errorf("newBalloonPolicy(%d) = %+v, want idle %d", tc.full, p, tc.idle)
		}
	}
}

func TestBalloonTarget(t *testing.T) {
	p := balloonPolicy{full: 4 << 30, idle: 1 << 30, idleAfter: 5 * time.Minute}
	for _, tc := range []struct {
		name    string
		busy    bool
		idleFor time.Duration
		want    uint64
	}{
		{"busy", true, 0, 4 << 30},
		{"busy though long idle before", true, time.Hour, 4 << 30},
		{"idle briefly", false, 4*time.Minute + 59*time.Second, 4 << 30},
		{"idle long enough", false, 5 * time.Minute, 1 << 30},
		{"idle for hours", false, 10 * time.Hour, 1 << 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := balloonTarget(p, tc.busy, tc.idleFor); got != tc.want {
				t.Errorf("balloonTarget(busy %v, idle %s) = %d, want %d", tc.busy, tc.idleFor, got, tc.want)
			}
		})
	}
}

// TestBalloonKeeper drives the keeper with a fake clock, a fake balloon
// and a scripted idea of whether the machine is busy.
func TestBalloonKeeper(t *testing.T) {
	const full, idle = 4 << 30, 1 << 30
	p := balloonPolicy{full: full, idle: idle, idleAfter: 5 * time.Minute}
	var sets []uint64
	var setErr error
	set := func(_ context.Context, b uint64) error {
		if setErr != nil {
			return setErr
		}
		sets = append(sets, b)
		return nil
	}
	var busy bool
	var busyErr error
	t0 := time.Unix(1700000000, 0)
	k := newBalloonKeeper(p, set, func(context.Context) (bool, error) { return busy, busyErr }, t0)
	ctx := context.Background()
	steps := []struct {
		name    string
		at      time.Duration
		busy    bool
		busyErr error
		setErr  error
		poked   bool
		target  uint64 // in force after the step
		sets    int    // calls that reached the balloon so far
	}{
		{"first check sets full", 30 * time.Second, false, nil, nil, false, full, 1},
		{"idle 4m: unchanged", 4 * time.Minute, false, nil, nil, false, full, 1},
		{"idle 5m: lowered", 5 * time.Minute, false, nil, nil, false, idle, 2},
		{"still idle: no call", 20 * time.Minute, false, nil, nil, false, idle, 2},
		{"client connects: restored", 21 * time.Minute, false, nil, nil, true, full, 3},
		{"idle again 4m after the client", 25 * time.Minute, false, nil, nil, false, full, 3},
		{"idle 5m after the client", 26 * time.Minute, false, nil, nil, false, idle, 4},
		{"container runs: restored", 27 * time.Minute, true, nil, nil, false, full, 5},
		{"agent unreachable counts as busy", 40 * time.Minute, false, errors.New("dial: refused"), nil, false, full, 5},
		{"idle 5m after that", 45 * time.Minute, false, nil, nil, false, idle, 6},
		{"restore fails: kept, retried", 46 * time.Minute, true, nil, errors.New("no balloon"), false, idle, 6},
		{"retry succeeds", 47 * time.Minute, true, nil, nil, false, full, 7},
	}
	for _, s := range steps {
		busy, busyErr, setErr = s.busy, s.busyErr, s.setErr
		got := k.step(ctx, t0.Add(s.at), s.poked)
		if got != s.target || len(sets) != s.sets {
			t.Fatalf("%s: target %d after %d sets %v; want %d after %d", s.name, got, len(sets), sets, s.target, s.sets)
		}
	}
}

// TestBalloonPokeNil: daemons of drivers without a balloon have no keeper.
func TestBalloonPokeNil(t *testing.T) {
	var k *balloonKeeper
	k.poke()
	k = newBalloonKeeper(newBalloonPolicy(1<<30), nil, nil, time.Now())
	k.poke()
	k.poke() // never blocks
	if len(k.wake) != 1 {
		t.Fatalf("wake holds %d, want 1", len(k.wake))
	}
}
