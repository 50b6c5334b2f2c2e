//go:build !unix

package machine

import (
	"context"
	"runtime"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/internal/errkind"
)

// fileLock is not implemented here yet (Windows will use LockFileEx).
type fileLock struct{}

func lockFile(ctx context.Context, path string) (*fileLock, error) {
	return nil, errkind.New(errdefs.ErrNotImplemented, "machines cannot be started on %s by this build of berth yet", runtime.GOOS)
}

// Unlock does nothing.
func (l *fileLock) Unlock() {}

func isLocked(path string) bool { return false }
