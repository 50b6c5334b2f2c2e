//go:build linux || darwin || windows

package hostmem

import "testing"

// TestTotal: the hosts berth runs on report their memory, and it is at
// least the 128MiB a VM needs and less than 1 PiB.
func TestTotal(t *testing.T) {
	if n := Total(); n < 128<<20 || n > 1<<50 {
		t.Errorf("Total() = %d bytes", n)
	}
}
