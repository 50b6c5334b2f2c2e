// Package testenv is the one helper host tests use to skip, with a reason,
// when the machine cannot run them (not root, no crun, ...); in CI
// (CI=true) they fail instead. It is internal/testenv under the name host
// tests import, so that host, guest and e2e tests share one policy.
package testenv

import "github.com/berth-dev/berth/internal/testenv"

// RequiresRoot skips t when not running as root (failing in CI).
var RequiresRoot = testenv.RequiresRoot

// RequiresBinary skips t when name is not on PATH (failing in CI) and
// returns its path.
var RequiresBinary = testenv.RequiresBinary
