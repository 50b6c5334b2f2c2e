//go:build !windows

package client

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// watchResize calls resize now and on every SIGWINCH until ctx ends.
func watchResize(ctx context.Context, resize func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGWINCH)
	resize()
	go func() {
		defer signal.Stop(ch)
		for {
			select {
			case <-ctx.Done():
				return
			case <-ch:
				resize()
			}
		}
	}()
}
