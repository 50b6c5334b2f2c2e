//go:build linux

package agent

import (
	"context"
	"fmt"

	"github.com/containerd/errdefs"
	"google.golang.org/protobuf/types/known/emptypb"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

var _ = emptypb.Empty{}
var _ agentv1.SetTimeRequest

// Trim is not served by this agent build yet.
func (y *systemService) Trim(ctx context.Context, _ *emptypb.Empty) (*agentv1.TrimResponse, error) {
	return nil, fmt.Errorf("System.Trim is not implemented in this agent: %w", errdefs.ErrNotImplemented)
}
