//go:build !linux

package snapshot

import (
	"context"
	"fmt"
	"io"

	"github.com/containerd/errdefs"
)

// Apply unpacks a layer tar into root. Layers are overlay lower dirs, which
// exist only on Linux.
func Apply(ctx context.Context, root string, r io.Reader) (int64, error) {
	return 0, fmt.Errorf("unpacking image layers needs Linux: %w", errdefs.ErrNotImplemented)
}

func syncTree(dir string) error { return nil }
