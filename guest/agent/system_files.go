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

// NotifyFileEvents is not served by this agent build yet.
func (y *systemService) NotifyFileEvents(ctx context.Context, _ *agentv1.FileEventsRequest) (*emptypb.Empty, error) {
	return nil, fmt.Errorf("System.NotifyFileEvents is not implemented in this agent: %w", errdefs.ErrNotImplemented)
}
