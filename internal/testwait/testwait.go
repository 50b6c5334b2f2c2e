// Package testwait polls for a condition in tests, with one deadline for
// the whole project: generous, because CI runs on two busy cores with
// several VMs beside the tests, and a condition that comes true at all
// comes true long before it. A test never asserts how long it waited.
package testwait

import (
	"testing"
	"time"
)

// Timeout is how long For polls before it fails the test.
const Timeout = time.Minute

// interval is the pause between polls.
const interval = 20 * time.Millisecond

// For polls cond until it returns true, failing t with "timed out waiting
// for <what>" after Timeout.
func For(t testing.TB, what string, cond func() bool) {
	t.Helper()
	forWithin(t, Timeout, what, cond)
}

func forWithin(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
			return // only reached with a recording testing.TB
		}
		time.Sleep(interval)
	}
}
