package container

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestSpecCgroupNamespace: a private cgroup namespace only when asked
// (docker's cgroupns=private on cgroup v2 hosts), privileged or not.
func TestSpecCgroupNamespace(t *testing.T) {
	for _, tt := range []struct {
		name       string
		private    bool
		privileged bool
	}{
		{"v1 host", false, false},
		{"v2 host", true, false},
		{"v2 host privileged", true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := genSpec(t, SpecInput{PrivateCgroupNS: tt.private, Create: CreateConfig{Cmd: []string{"x"}, Privileged: tt.privileged}})
			n := 0
			for _, ns := range s.Linux.Namespaces {
				if ns.Type == specs.CgroupNamespace {
					n++
					if ns.Path != "" {
						t.Errorf("cgroup namespace joins %s, want a new one", ns.Path)
					}
				}
			}
			if want := map[bool]int{true: 1}[tt.private]; n != want {
				t.Errorf("%d cgroup namespaces in %v, want %d", n, s.Linux.Namespaces, want)
			}
		})
	}
}
