package machine

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/containerd/log"

	"github.com/berth-dev/berth/host/driver"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// The memory balloon: a VM whose driver has one (driver.MemoryBalloon)
// gets its memory target lowered once the machine has been idle for
// balloonIdleAfter — no running container and no client connection — so
// that the memory goes back to the laptop; a client connection restores
// the full size at once, a container started from inside by a restart
// policy at the next check. Whether to change the target is decided by
// balloonTarget, a pure function.
const (
	balloonIdleAfter  = 5 * time.Minute
	balloonCheckEvery = 30 * time.Second
	// balloonIdleMin is the least an idle VM keeps: the agent, its page
	// cache and room to start the next container before the target is up.
	balloonIdleMin  = 512 << 20
	balloonCallWait = 5 * time.Second
)

// balloonPolicy is the machine's full memory and what it keeps when idle.
type balloonPolicy struct {
	full, idle uint64
	idleAfter  time.Duration
}

// newBalloonPolicy keeps a quarter of full when idle, at least
// balloonIdleMin (never more than full).
func newBalloonPolicy(full uint64) balloonPolicy {
	idle := min(max(full/4, balloonIdleMin), full)
	return balloonPolicy{full: full, idle: idle, idleAfter: balloonIdleAfter}
}

// balloonTarget is the memory target for a machine that is busy now, or
// has been idle for idleFor: full when busy or idle for less than
// idleAfter, else idle.
func balloonTarget(p balloonPolicy, busy bool, idleFor time.Duration) uint64 {
	if busy || idleFor < p.idleAfter {
		return p.full
	}
	return p.idle
}

// balloonKeeper applies balloonTarget to one machine's VM.
type balloonKeeper struct {
	policy balloonPolicy
	set    func(ctx context.Context, bytes uint64) error
	// busy reports whether the machine is in use; an error counts as busy.
	busy func(ctx context.Context) (bool, error)
	wake chan struct{} // a client connected: restore now

	mu       sync.Mutex
	target   uint64 // last target set; 0: none yet
	lastBusy time.Time
}

func newBalloonKeeper(p balloonPolicy, set func(context.Context, uint64) error, busy func(context.Context) (bool, error), now time.Time) *balloonKeeper {
	return &balloonKeeper{policy: p, set: set, busy: busy, wake: make(chan struct{}, 1), lastBusy: now}
}

// poke says the machine is in use now (a client connected). It never
// blocks; a nil keeper ignores it.
func (b *balloonKeeper) poke() {
	if b == nil {
		return
	}
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// run checks every balloonCheckEvery and on every poke until ctx ends.
func (b *balloonKeeper) run(ctx context.Context) {
	t := time.NewTicker(balloonCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.wake:
			b.step(ctx, time.Now(), true)
		case <-t.C:
			b.step(ctx, time.Now(), false)
		}
	}
}

// step looks at the machine once (poked: known to be busy) and sets the
// target when it changes. It returns the target in force.
func (b *balloonKeeper) step(ctx context.Context, now time.Time, poked bool) uint64 {
	busy := poked
	if !busy {
		var err error
		if busy, err = b.busy(ctx); err != nil {
			log.G(ctx).WithError(err).Debug("balloon: cannot tell whether the machine is idle; keeping its memory")
			busy = true
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if busy {
		b.lastBusy = now
	}
	want := balloonTarget(b.policy, busy, now.Sub(b.lastBusy))
	if want == b.target {
		return b.target
	}
	if err := b.set(ctx, want); err != nil {
		log.G(ctx).WithError(err).Warn("balloon: cannot set the VM's memory target")
		return b.target
	}
	log.G(ctx).WithField("target", want).WithField("idle", !busy).Info("balloon: VM memory target set")
	b.target = want
	return want
}

// startBalloon starts the keeper of a VM whose driver has a balloon and
// returns it (nil otherwise); it runs until ctx ends, counted in wg.
func (dm *daemon) startBalloon(ctx context.Context, wg *sync.WaitGroup) *balloonKeeper {
	mb, ok := dm.d.(driver.MemoryBalloon)
	if !ok || !dm.d.Features().VM || dm.m.Config.Memory <= 0 {
		return nil
	}
	busy := func(ctx context.Context) (bool, error) {
		if dm.clientCount() > 0 {
			return true, nil
		}
		return anyRunning(ctx, dm.d.DialAgent)
	}
	b := newBalloonKeeper(newBalloonPolicy(uint64(dm.m.Config.Memory)), mb.SetMemoryTarget, busy, time.Now())
	wg.Add(1)
	go func() {
		defer wg.Done()
		b.run(ctx)
	}()
	return b
}

// clientCount is the number of open client connections.
func (dm *daemon) clientCount() int {
	dm.mu.Lock()
	defer dm.mu.Unlock()
	return len(dm.conns)
}

// anyRunning asks the agent whether a container runs.
func anyRunning(ctx context.Context, dial func(context.Context) (net.Conn, error)) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, balloonCallWait)
	defer cancel()
	cl, err := ttrpcClient(ctx, dial)
	if err != nil {
		return false, err
	}
	defer cl.Close()
	resp, err := agentv1.NewTTRPCContainersClient(cl).List(ctx, &agentv1.ListContainersRequest{})
	if err != nil {
		return false, errgrpc.ToNative(err)
	}
	return len(resp.GetContainers()) > 0, nil
}
