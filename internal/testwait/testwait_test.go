package testwait

import (
	"fmt"
	"testing"
)

// recorder is a testing.TB that records a failure instead of ending the
// test.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
}

func TestFor(t *testing.T) {
	t.Run("comes true", func(t *testing.T) {
		n := 0
		r := &recorder{TB: t}
		For(r, "the third poll", func() bool { n++; return n == 3 })
		if r.failed != "" || n != 3 {
			t.Errorf("polled %d times, failed %q; want 3 polls, no failure", n, r.failed)
		}
	})
	t.Run("never true", func(t *testing.T) {
		r := &recorder{TB: t}
		forWithin(r, 0, "nothing", func() bool { return false })
		if r.failed != "timed out waiting for nothing" {
			t.Errorf("failure %q, want the timeout", r.failed)
		}
	})
}
