//go:build linux

package agent

import (
	"context"

	"github.com/containerd/errdefs"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// commit makes an image of the container's writable layer.
func (e *engine) commit(ctx context.Context, r *record, req *agentv1.CommitRequest) (string, error) {
	return "", newKindError(errdefs.ErrNotImplemented, "commit is not available yet in this engine")
}
