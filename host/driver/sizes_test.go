package driver

import (
	"testing"

	"github.com/containerd/errdefs"
)

func TestSizesCheck(t *testing.T) {
	ok := Sizes{CPUs: 2, MemoryBytes: 1 << 30, HostCPUs: 8, HostMemory: 16 << 30}
	tests := []struct {
		name string
		edit func(*Sizes)
		want string // "" when the sizes are fine
	}{
		{"fits", func(*Sizes) {}, ""},
		{"all of the host", func(s *Sizes) { s.CPUs, s.MemoryBytes = 8, 16<<30 }, ""},
		{"least memory", func(s *Sizes) { s.MemoryBytes = MinMemory }, ""},
		{"host unknown", func(s *Sizes) { s.HostCPUs, s.HostMemory, s.CPUs = 0, 0, 64 }, ""},
		{"zero cpus", func(s *Sizes) { s.CPUs = 0 }, "cpus must be at least 1, not 0"},
		{"too many cpus", func(s *Sizes) { s.CPUs = 9 }, "cpus 9 is more than this Mac has (8); use --cpus 8 or fewer"},
		{"tiny memory", func(s *Sizes) { s.MemoryBytes = 1 << 20 }, "memory must be at least 128MiB"},
		{"too much memory", func(s *Sizes) { s.MemoryBytes = 32 << 30 },
			"memory 32768MiB is more than this Mac has (16384MiB); use a smaller --memory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := ok
			tc.edit(&s)
			err := s.Check("Mac")
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Check = %v, want nil", err)
			case tc.want != "" && (err == nil || err.Error() != tc.want || !errdefs.IsInvalidArgument(err)):
				t.Errorf("Check = %v, want InvalidArgument %q", err, tc.want)
			}
		})
	}
}
