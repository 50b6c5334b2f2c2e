package container

import (
	"fmt"
	"strings"

	"github.com/containerd/errdefs"
)

// StartError says the container's (or an exec's) command could not be
// executed. ExitCode is docker's: 127 when the command was not found, 126
// when it could not be invoked (permission denied, a directory).
type StartError struct {
	ExitCode int
	Msg      string
}

func (e *StartError) Error() string {
	return "failed to create task for container: OCI runtime create failed: unable to start container process: " + e.Msg
}

// Unwrap makes a StartError an errdefs.ErrInvalidArgument (the request
// named a command that cannot run).
func (e *StartError) Unwrap() error { return errdefs.ErrInvalidArgument }

// execFailure maps crun's error messages for an unrunnable command to a
// StartError with docker's wording; nil when msg is about something else.
func execFailure(msg, argv0 string) *StartError {
	q := fmt.Sprintf("%q", argv0)
	switch {
	case strings.Contains(msg, "executable file") && strings.Contains(msg, "not found"):
		if strings.Contains(argv0, "/") {
			return &StartError{ExitCode: 127, Msg: fmt.Sprintf("exec: %s: stat %s: no such file or directory", q, argv0)}
		}
		return &StartError{ExitCode: 127, Msg: fmt.Sprintf("exec: %s: executable file not found in $PATH", q)}
	case strings.Contains(msg, "open executable: Operation not permitted"), strings.Contains(msg, "Is a directory"):
		return &StartError{ExitCode: 126, Msg: fmt.Sprintf("exec: %s: is a directory", q)}
	case strings.Contains(msg, "open executable") || strings.Contains(msg, "Permission denied") && strings.Contains(msg, "exec"):
		return &StartError{ExitCode: 126, Msg: fmt.Sprintf("exec: %s: permission denied", q)}
	}
	return nil
}

var errInvalid = errdefs.ErrInvalidArgument
