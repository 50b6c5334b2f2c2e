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

// SetTime is not served by this agent build yet.
func (y *systemService) SetTime(ctx context.Context, _ *agentv1.SetTimeRequest) (*agentv1.SetTimeResponse, error) {
	return nil, fmt.Errorf("System.SetTime is not implemented in this agent: %w", errdefs.ErrNotImplemented)
}
