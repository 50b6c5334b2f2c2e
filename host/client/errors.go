package client

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/spf13/cobra"
)

// exitError carries a specific exit code (docker's: 125 engine error, 126
// cannot invoke, 127 not found, or a container's own code).
type exitError struct {
	code int
	err  error // nil: exit silently with code
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// withExitCode makes err exit with code.
func withExitCode(code int, err error) error { return &exitError{code: code, err: err} }

// daemonError marks an error that came from the agent, printed the way
// docker prints them: "Error response from daemon: ...".
type daemonError struct{ err error }

func (e *daemonError) Error() string { return e.err.Error() }
func (e *daemonError) Unwrap() error { return e.err }

// fromAgent converts an error returned by a ttrpc call into an errdefs error
// (so errdefs.IsNotFound works on the host) marked as the daemon's.
func fromAgent(err error) error {
	if err == nil {
		return nil
	}
	var de *daemonError
	if errors.As(err, &de) {
		return err
	}
	return &daemonError{err: errgrpc.ToNative(err)}
}

// flagError reports bad flags the way docker does, with exit code 125.
func flagError(cmd *cobra.Command, err error) error {
	return withExitCode(125, fmt.Errorf("%w\nSee '%s --help'.", err, cmd.CommandPath()))
}

// printError prints err docker-style and returns the exit code.
func printError(w io.Writer, cmd *cobra.Command, err error) int {
	code := 1
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
		if ee.err == nil {
			return code
		}
		err = ee.err
	}
	msg := err.Error()
	var de *daemonError
	if errors.As(err, &de) {
		msg = "Error response from daemon: " + cleanDaemonMessage(de.err.Error())
	} else if !strings.HasPrefix(msg, "Error") && !strings.HasPrefix(msg, "unknown") && !strings.Contains(msg, "See '") {
		msg = "Error: " + msg
	}
	fmt.Fprintln(w, msg)
	return code
}

// errdefsSuffixes are the texts of the errdefs kinds, which the agent wraps
// at the end of its messages ("No such image: x: not found"); docker's
// messages do not show them.
var errdefsSuffixes = []string{
	"not found", "invalid argument", "already exists", "conflict",
	"unavailable", "failed precondition", "permission denied", "unknown",
	"not implemented", "internal", "aborted", "out of range",
	"resource exhausted", "data loss", "unauthorized", "not modified",
}

// cleanDaemonMessage drops the "rpc error: code = X desc = " wrapping that a
// status may still carry, and the trailing errdefs kind.
func cleanDaemonMessage(s string) string {
	if i := strings.Index(s, " desc = "); i >= 0 && strings.HasPrefix(s, "rpc error:") {
		s = s[i+len(" desc = "):]
	}
	for _, k := range errdefsSuffixes {
		if t, ok := strings.CutSuffix(s, ": "+k); ok && t != "" {
			return t
		}
	}
	return s
}
