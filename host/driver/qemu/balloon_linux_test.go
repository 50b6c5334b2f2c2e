package qemu

import (
	"context"
	"testing"
	"time"

	"github.com/containerd/errdefs"
)

// TestBalloon boots the VM image (512MiB) and moves the balloon: the
// guest's memory as qemu's query-balloon reports it follows the target
// down to 256MiB and back to the full 512MiB.
func TestBalloon(t *testing.T) {
	img := testImageDir(t)
	d := created(t, newTestDriver(t, img, 0))
	if err := d.SetMemoryTarget(context.Background(), 256<<20); !errdefs.IsUnavailable(err) {
		t.Errorf("SetMemoryTarget before Start = %v, want unavailable", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if _, err := d.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer d.Stop(context.Background())
	for _, target := range []uint64{256 << 20, 512 << 20} {
		begin := time.Now()
		if err := d.SetMemoryTarget(ctx, target); err != nil {
			t.Fatalf("SetMemoryTarget(%d): %v", target, err)
		}
		var actual uint64
		for actual != target {
			var err error
			if actual, err = d.memoryActual(ctx); err != nil {
				t.Fatalf("query-balloon: %v", err)
			}
			if ctx.Err() != nil {
				t.Fatalf("the guest's memory stays at %d, target %d", actual, target)
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("balloon target %dMiB reached in %v", target>>20, time.Since(begin).Round(time.Millisecond))
	}
}
