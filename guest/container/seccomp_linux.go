package container

import (
	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// defaultSeccomp is docker's default seccomp profile for s (it depends on
// the capabilities already set in s).
func defaultSeccomp(s *specs.Spec) (*specs.LinuxSeccomp, error) {
	return seccomp.GetDefaultProfile(s)
}
