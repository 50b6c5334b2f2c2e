//go:build linux

package agent

import (
	"context"
	"fmt"

	"github.com/containerd/errdefs"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// Push is not served by this agent build yet.
func (y *imagesService) Push(ctx context.Context, _ *agentv1.PushRequest, _ agentv1.TTRPCImages_PushServer) error {
	return fmt.Errorf("Images.Push is not implemented in this agent: %w", errdefs.ErrNotImplemented)
}

// History is not served by this agent build yet.
func (y *imagesService) History(ctx context.Context, _ *agentv1.InspectImageRequest) (*agentv1.HistoryResponse, error) {
	return nil, fmt.Errorf("Images.History is not implemented in this agent: %w", errdefs.ErrNotImplemented)
}
