package errkind

import (
	"errors"
	"io/fs"
	"testing"

	"github.com/containerd/errdefs"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		msg     string
		kind    error
		alsoIs  error
		notKind error
	}{
		{name: "plain", err: New(errdefs.ErrNotFound, "machine %q does not exist", "x"),
			msg: `machine "x" does not exist`, kind: errdefs.ErrNotFound, notKind: errdefs.ErrAlreadyExists},
		{name: "wraps a cause", err: New(errdefs.ErrInvalidArgument, "bad: %w", fs.ErrNotExist),
			msg: "bad: file does not exist", kind: errdefs.ErrInvalidArgument, alsoIs: fs.ErrNotExist, notKind: errdefs.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err.Error() != tt.msg {
				t.Errorf("message = %q, want %q", tt.err, tt.msg)
			}
			if !errors.Is(tt.err, tt.kind) {
				t.Errorf("errors.Is(%v) = false", tt.kind)
			}
			if tt.alsoIs != nil && !errors.Is(tt.err, tt.alsoIs) {
				t.Errorf("errors.Is(cause %v) = false", tt.alsoIs)
			}
			if errors.Is(tt.err, tt.notKind) {
				t.Errorf("errors.Is(%v) = true", tt.notKind)
			}
		})
	}
}
