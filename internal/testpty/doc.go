// Package testpty opens pseudo-terminals for tests of code that behaves
// differently on a terminal (TTY containers, refusals to read a tarball from
// a terminal, docker-init's controlling terminal). Host, guest and e2e tests
// share it (it sits outside both trees so that either may import it). Only
// Linux has an implementation; elsewhere the package is empty.
package testpty
