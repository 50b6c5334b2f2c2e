//go:build linux

package agent

import (
	"context"
	"fmt"

	"github.com/containerd/errdefs"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// Build is not served by this agent build yet.
func (y *imagesService) Build(ctx context.Context, _ *agentv1.BuildRequest, _ agentv1.TTRPCImages_BuildServer) error {
	return fmt.Errorf("Images.Build is not implemented in this agent: %w", errdefs.ErrNotImplemented)
}
