package client

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
)

func TestShellError(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		code     int
		contains string
	}{
		{"not found", fmt.Errorf(`exec: "nope": executable file not found in $PATH: %w`, errdefs.ErrNotFound), 127, "executable file not found"},
		{"bad request", fmt.Errorf("shell: working directory %q: no such directory: %w", "/x", errdefs.ErrInvalidArgument), 126, "working directory"},
		{"old agent", fmt.Errorf("System.Shell is not implemented in this agent: %w", errdefs.ErrNotImplemented), 125, "rebuild or update its VM image"},
		{"other", fmt.Errorf("boom: %w", errdefs.ErrUnavailable), 125, "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := shellError(errgrpc.ToGRPC(tt.err)) // as it arrives over ttrpc
			var ee *exitError
			if !errors.As(err, &ee) || ee.code != tt.code {
				t.Fatalf("shellError = %v, want exit code %d", err, tt.code)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("message %q does not mention %q", err, tt.contains)
			}
		})
	}
}

func TestMachineShellArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"two names", []string{"shell", "a", "b", "--", "true"}, "at most one machine name"},
		{"t and T", []string{"shell", "-t", "-T"}, "cannot be used together"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &cli{}
			cmd := c.newMachineCommand()
			cmd.SetArgs(tt.args)
			cmd.SetOut(&strings.Builder{})
			cmd.SetErr(&strings.Builder{})
			err := cmd.Execute()
			var ee *exitError
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &ee) || ee.code != 125 {
				t.Errorf("err = %v, want exit 125 mentioning %q", err, tt.wantErr)
			}
		})
	}
}
