//go:build !unix

package machine

import (
	"context"
	"fmt"
	"runtime"

	"github.com/containerd/errdefs"
)

// fileLock is not implemented here yet (Windows will use LockFileEx).
type fileLock struct{}

func lockFile(ctx context.Context, path string) (*fileLock, error) {
	return nil, fmt.Errorf("machines cannot be started on %s by this build of berth yet: %w", runtime.GOOS, errdefs.ErrNotImplemented)
}

// Unlock does nothing.
func (l *fileLock) Unlock() {}

func isLocked(path string) bool { return false }
