//go:build linux

package agent

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/berth-dev/berth/guest/build"
	"github.com/berth-dev/berth/guest/image"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// Build builds an image from a Dockerfile with docker's classic builder
// (package build): the context arrives as a tar on a data stream, the
// builder's output streams back, the last message carries the image id.
func (y *imagesService) Build(ctx context.Context, req *agentv1.BuildRequest, ss agentv1.TTRPCImages_BuildServer) error {
	opts, err := y.buildOptions(req)
	if err != nil {
		return toStatus(err)
	}
	c, err := y.s.streams.wait(ctx, req.GetContextStreamId())
	if err != nil {
		return toStatus(err)
	}
	tmp := filepath.Join(y.s.opts.DataDir, "tmp", "build")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		c.Close()
		return toStatus(err)
	}
	dir, err := os.MkdirTemp(tmp, "context-")
	if err != nil {
		c.Close()
		return toStatus(err)
	}
	defer os.RemoveAll(dir)
	err = build.ExtractContext(ctx, c, dir)
	c.Close()
	if err != nil {
		return toStatus(err)
	}
	opts.ContextDir = dir
	eng := &buildEngine{e: y.s.engine, store: y.store, auth: req.GetAuth()}
	b, err := build.New(y.s.db, eng, tmp)
	if err != nil {
		return toStatus(err)
	}
	w := &buildOutput{ss: ss}
	id, err := b.Build(ctx, opts, w)
	if err != nil {
		return toStatus(err)
	}
	if w.err != nil {
		return toStatus(w.err)
	}
	return toStatus(ss.Send(&agentv1.BuildProgress{ImageId: id}))
}

// buildOptions checks the request and turns it into the builder's options.
func (y *imagesService) buildOptions(req *agentv1.BuildRequest) (build.Options, error) {
	for _, t := range req.GetTags() {
		r, err := image.ParseReference(t)
		if err != nil {
			return build.Options{}, fmt.Errorf("invalid tag %q: %w", t, err)
		}
		if r.Digest != "" {
			return build.Options{}, fmt.Errorf("invalid tag %q: a tag cannot carry a digest: %w", t, errdefs.ErrInvalidArgument)
		}
	}
	network := req.GetNetwork()
	switch network {
	case "", "default":
		network = "bridge"
	case "bridge", "none", "host":
	default:
		return build.Options{}, fmt.Errorf("--network %s: builds run RUN steps on bridge (default), none or host: %w", network, errdefs.ErrInvalidArgument)
	}
	return build.Options{
		Dockerfile: req.GetDockerfile(), DockerfileContent: req.GetDockerfileContent(),
		Tags: req.GetTags(), BuildArgs: req.GetBuildArgs(), Target: req.GetTarget(),
		NoCache: req.GetNoCache(), Pull: req.GetPull(), Labels: req.GetLabels(),
		Network: network, Platform: req.GetPlatform(),
	}, nil
}

// buildOutput sends the builder's output as BuildProgress messages. The
// first send error is kept and later writes are dropped, so a client that
// went away does not stop the build midway through a step.
type buildOutput struct {
	ss  agentv1.TTRPCImages_BuildServer
	mu  sync.Mutex
	err error
}

func (w *buildOutput) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil && len(p) > 0 {
		w.err = w.ss.Send(&agentv1.BuildProgress{Stream: string(p)})
	}
	return len(p), nil
}

// pullAuth is the request's registry credential for pulls of FROM images.
func pullAuth(a *agentv1.RegistryAuth) []image.PullOption {
	if a == nil {
		return nil
	}
	return []image.PullOption{image.WithAuth(authn.AuthConfig{
		Username: a.GetUsername(), Password: a.GetPassword(),
		IdentityToken: a.GetIdentityToken(), RegistryToken: a.GetRegistryToken(),
	})}
}

var _ io.Writer = (*buildOutput)(nil)
