// Package testenv decides, in one place for host, guest and e2e tests, what
// a test does when the machine cannot run it (not root, a tool missing, no
// pseudo-terminals): it skips, saying why, except in CI (CI=true, always
// root, everything installed), where it fails, so that no test is ever
// skipped silently there. guest/internal/testenv and host/internal/testenv
// are this package under the names each side's tests import.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// RequiresRoot skips t when not running as root (failing in CI).
func RequiresRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		SkipOrFail(t, "needs root (overlayfs, mknod, namespaces); run the tests as root")
	}
}

// RequiresBinary skips t when name is not on PATH (failing in CI) and
// returns its path.
func RequiresBinary(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		SkipOrFail(t, "needs "+name+" on PATH (apt-get install "+name+")")
	}
	return p
}

// SkipOrFail skips t with the reason why, or fails it in CI (CI=true).
func SkipOrFail(t testing.TB, why string) {
	t.Helper()
	if inCI() {
		t.Fatalf("CI cannot skip: %s", why)
		return // only reached with a recording testing.TB
	}
	t.Skip(why)
}

func inCI() bool { return os.Getenv("CI") == "true" }
