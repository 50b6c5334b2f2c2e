// Package testenv holds the one helper guest tests use to skip, with a
// reason, when the machine cannot run them (not root, no crun, ...).
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// RequiresRoot skips t when not running as root. In CI (CI=true, always
// root) it fails instead, so that a root test can never be skipped silently
// there.
func RequiresRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		skipOrFail(t, "needs root (overlayfs, mknod, namespaces); run the tests as root")
	}
}

// RequiresBinary skips t when name is not on PATH (failing in CI).
func RequiresBinary(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		skipOrFail(t, "needs "+name+" on PATH (apt-get install "+name+")")
	}
	return p
}

func skipOrFail(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI cannot skip: %s", why)
	}
	t.Skip(why)
}
