//go:build !linux

package e2e

import "testing"

// testPullOnTerminal needs Linux's /dev/ptmx; the e2e tests run on Linux.
func testPullOnTerminal(t *testing.T, _ testImage) {
	t.Skip("the pseudo-terminal test runs on Linux only")
}
