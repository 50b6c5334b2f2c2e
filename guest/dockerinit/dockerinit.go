package dockerinit

import (
	"path/filepath"
)

// Name is the file name docker's init has inside containers.
const Name = "docker-init"

// IsInvocation reports whether a program started with argv0 should run as
// the init: it is called by Name (/sbin/docker-init in a container).
func IsInvocation(argv0 string) bool {
	return filepath.Base(argv0) == Name
}

// Exit codes of the init itself, a shell's: the command is missing or
// cannot be run.
const (
	exitUsage      = 2
	exitCannotExec = 126
	exitNotFound   = 127
	exitSignalBase = 128
	usage          = "usage: " + Name + " [--] COMMAND [ARG...]"
)
