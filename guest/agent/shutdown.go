//go:build linux

package agent

import (
	"context"

	"github.com/containerd/log"
)

// stopContainers stops every running container before the VM powers off,
// as docker's daemon does when it shuts down: in parallel, each with its
// stop signal and stop timeout, then SIGKILL; restart policies do not
// restart them now, and "always" and "unless-stopped" bring them back when
// the next agent opens the data dir (they are not marked manually stopped).
func (s *Server) stopContainers(ctx context.Context) {
	if s.engine == nil || s.engine.rt == nil {
		return
	}
	log.G(ctx).Info("stopping containers for shutdown")
	if err := s.engine.rt.Shutdown(ctx); err != nil {
		log.G(ctx).WithError(err).Warn("stopping containers for shutdown")
	}
}
