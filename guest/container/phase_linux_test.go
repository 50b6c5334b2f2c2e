package container

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestPhases(t *testing.T) {
	r := newTestRuntime(t, "")
	ctx := context.Background()
	var tc, ts, tw, td time.Duration
	for i := 0; i < 20; i++ {
		t0 := time.Now()
		c, err := r.Create(ctx, Config{ID: fmt.Sprintf("ph-%d", i), Image: imageConfig(), Lowers: []string{testLower}, Create: CreateConfig{Cmd: []string{"true"}}})
		if err != nil {
			t.Fatal(err)
		}
		t1 := time.Now()
		c.Start(ctx, nil)
		t2 := time.Now()
		c.Wait(ctx)
		t3 := time.Now()
		c.Delete(ctx, false)
		t4 := time.Now()
		tc += t1.Sub(t0); ts += t2.Sub(t1); tw += t3.Sub(t2); td += t4.Sub(t3)
	}
	t.Logf("create %v start %v wait %v delete %v", tc/20, ts/20, tw/20, td/20)
}
