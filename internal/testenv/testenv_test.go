package testenv

import (
	"os"
	"testing"
)

// recorder is a testing.TB that records how a helper ended the test
// instead of ending it.
type recorder struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (r *recorder) Helper() {}
func (r *recorder) Skip(args ...any) {
	r.skipped = true
	r.msg = args[0].(string)
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = true
	r.msg = format
}

func TestSkipOrFail(t *testing.T) {
	tests := []struct {
		ci          string
		wantSkipped bool
		wantFailed  bool
	}{
		{"", true, false},
		{"false", true, false},
		{"true", false, true},
	}
	for _, tc := range tests {
		t.Run("CI="+tc.ci, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			r := &recorder{TB: t}
			SkipOrFail(r, "needs a thing")
			if r.skipped != tc.wantSkipped || r.failed != tc.wantFailed {
				t.Errorf("skipped %v failed %v, want %v %v", r.skipped, r.failed, tc.wantSkipped, tc.wantFailed)
			}
		})
	}
}

func TestRequiresBinary(t *testing.T) {
	t.Setenv("CI", "")
	tests := []struct {
		name        string
		wantSkipped bool
	}{
		{"sh", false},
		{"berth-no-such-tool", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{TB: t}
			p := RequiresBinary(r, tc.name)
			if r.skipped != tc.wantSkipped || (!tc.wantSkipped && p == "") {
				t.Errorf("path %q skipped %v (%s), want skipped %v", p, r.skipped, r.msg, tc.wantSkipped)
			}
		})
	}
}

func TestRequiresRoot(t *testing.T) {
	t.Setenv("CI", "")
	r := &recorder{TB: t}
	RequiresRoot(r)
	if want := os.Geteuid() != 0; r.skipped != want {
		t.Errorf("euid %d: skipped %v, want %v", os.Geteuid(), r.skipped, want)
	}
}
