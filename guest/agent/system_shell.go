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

// Shell is not served by this agent build yet.
func (y *systemService) Shell(ctx context.Context, _ *agentv1.ShellRequest) (*agentv1.ShellResponse, error) {
	return nil, fmt.Errorf("System.Shell is not implemented in this agent: %w", errdefs.ErrNotImplemented)
}

// ResizeShell is not served by this agent build yet.
func (y *systemService) ResizeShell(ctx context.Context, _ *agentv1.ResizeShellRequest) (*emptypb.Empty, error) {
	return nil, fmt.Errorf("System.ResizeShell is not implemented in this agent: %w", errdefs.ErrNotImplemented)
}
