package container

import (
	"testing"
	"time"
)

// TestShimShutdownDiscard checks that a shutdown for a Delete (discard)
// returns once the container is gone, without waiting for the exit record
// (cleaned), while a plain shutdown waits for it.
func TestShimShutdownDiscard(t *testing.T) {
	for _, tc := range []struct {
		name    string
		discard bool
	}{{"discard", true}, {"plain", false}} {
		t.Run(tc.name, func(t *testing.T) {
			s := &shim{started: true, exited: make(chan struct{}), cleaned: make(chan struct{}), running: make(chan struct{})}
			close(s.exited)
			done := make(chan struct{})
			go func() { s.shutdown(tc.discard); close(done) }()
			if tc.discard {
				select {
				case <-done:
				case <-time.After(30 * time.Second):
					t.Fatal("shutdown with discard waited for the exit record")
				}
				close(s.cleaned)
				return
			}
			select {
			case <-done:
				t.Fatal("plain shutdown returned before the exit record was stored")
			case <-time.After(50 * time.Millisecond):
			}
			close(s.cleaned)
			<-done
		})
	}
}
