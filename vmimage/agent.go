package vmimage

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// AgentPackage is the import path of the agent's main package.
const AgentPackage = "github.com/berth-dev/berth/cmd/berth-agent"

// BuildAgent compiles berth-agent for arch as a static binary (no cgo,
// trimmed paths, no build id) with the go tool, in the module at
// moduleDir, and returns its path inside dir. ldflags are extra linker
// flags (e.g. -X for the version).
func BuildAgent(ctx context.Context, moduleDir, arch, dir string, ldflags ...string) (string, error) {
	ai, err := lookupArch(arch)
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "berth-agent-"+arch)
	flags := append([]string{"-s", "-w", "-buildid="}, ldflags...)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false",
		"-ldflags", strings.Join(flags, " "), "-o", out, AgentPackage)
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+ai.GOARCH)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build berth-agent for %s: %v: %s", arch, err, strings.TrimSpace(string(b)))
	}
	return out, nil
}
