package container

import (
	"strings"
	"sync"

	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// seccompCache holds generated profiles by capability set: building
// docker's profile is the costliest part of a spec, and it only depends on
// the capabilities (and the machine's architecture). Cached profiles are
// shared between specs and must not be modified.
var seccompCache sync.Map

// defaultSeccomp is docker's default seccomp profile for s (it depends on
// the capabilities already set in s).
func defaultSeccomp(s *specs.Spec) (*specs.LinuxSeccomp, error) {
	key := ""
	if s.Process != nil && s.Process.Capabilities != nil {
		key = strings.Join(s.Process.Capabilities.Bounding, ",")
	}
	if p, ok := seccompCache.Load(key); ok {
		return p.(*specs.LinuxSeccomp), nil
	}
	p, err := seccomp.GetDefaultProfile(s)
	if err != nil {
		return nil, err
	}
	seccompCache.Store(key, p)
	return p, nil
}
