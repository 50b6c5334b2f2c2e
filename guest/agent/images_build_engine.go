//go:build linux

package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/api/pkg/stdcopy"
	ctypes "github.com/moby/moby/api/types/container"

	"github.com/berth-dev/berth/guest/build"
	"github.com/berth-dev/berth/guest/container"
	"github.com/berth-dev/berth/guest/image"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// buildEngine gives the builder the engine's containers and image store.
type buildEngine struct {
	e     *engine
	store *image.Store
	auth  *agentv1.RegistryAuth
}

var _ build.Engine = (*buildEngine)(nil)

func (b *buildEngine) Image(ctx context.Context, ref, platform string, pull bool, out io.Writer) (string, *v1.ConfigFile, error) {
	if !pull {
		img, cf, err := b.store.Resolve(ctx, ref)
		if err == nil {
			return img.ID, cf, nil
		}
		if !errdefs.IsNotFound(err) {
			return "", nil, err
		}
	}
	opts := append(pullAuth(b.auth), image.WithPlatform(platform), image.WithProgress(func(p image.Progress) {
		switch p.Status {
		case "Downloading", "Extracting", "Waiting", "Pulling fs layer", "Verifying Checksum":
			return
		}
		if p.ID != "" {
			fmt.Fprintf(out, "%s: %s\n", p.ID, p.Status)
			return
		}
		fmt.Fprintln(out, p.Status)
	}))
	img, err := b.store.Pull(ctx, ref, opts...)
	if err != nil {
		return "", nil, err
	}
	_, cf, err := b.store.Resolve(ctx, img.ID)
	if err != nil {
		return "", nil, err
	}
	return img.ID, cf, nil
}

func (b *buildEngine) Config(ctx context.Context, id string) (*v1.ConfigFile, error) {
	_, cf, err := b.store.Resolve(ctx, id)
	return cf, err
}

func (b *buildEngine) Commit(ctx context.Context, parent, layerPath string, cf *v1.ConfigFile) (string, error) {
	img, err := b.store.Derive(ctx, parent, layerPath, cf)
	if err != nil {
		return "", err
	}
	return img.ID, nil
}

func (b *buildEngine) Tag(ctx context.Context, id, ref string) (string, error) {
	_, target, err := b.store.Tag(ctx, id, ref)
	if err != nil {
		return "", err
	}
	b.e.events.publish("image", "tag", id, map[string]string{"name": target})
	return image.FamiliarString(target), nil
}

// View mounts a read-only view of the image's layers.
func (b *buildEngine) View(ctx context.Context, id string) (string, func(), error) {
	var lowers []string
	if id != "" {
		img, err := b.store.Get(ctx, id)
		if err != nil {
			return "", nil, err
		}
		if lowers, err = b.store.Snapshots().LowerDirs(img.ChainIDs); err != nil {
			return "", nil, fmt.Errorf("image %s: layers are missing: %w", id, err)
		}
	}
	if len(lowers) == 0 {
		dir, err := os.MkdirTemp("", "berth-build-empty-")
		if err != nil {
			return "", nil, err
		}
		return dir, func() { os.RemoveAll(dir) }, nil
	}
	return mergedView(lowers)
}

// Create makes an intermediate container for a RUN step.
func (b *buildEngine) Create(ctx context.Context, imageID string, spec build.RunSpec) (build.Container, error) {
	cfg, err := json.Marshal(&ctypes.Config{
		Image: imageID, Cmd: spec.Cmd, Env: spec.Env, User: spec.User, WorkingDir: spec.WorkingDir,
		Entrypoint: []string{}, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return nil, err
	}
	hc, err := json.Marshal(&ctypes.HostConfig{NetworkMode: ctypes.NetworkMode(spec.Network)})
	if err != nil {
		return nil, err
	}
	r, err := b.e.create(ctx, &agentv1.CreateContainerRequest{Config: cfg, HostConfig: hc})
	if err != nil {
		return nil, err
	}
	return &buildContainer{e: b.e, r: r}, nil
}

// buildContainer is an intermediate container of the engine.
type buildContainer struct {
	e *engine
	r *record
}

func (c *buildContainer) ID() string { return c.r.ID }

func (c *buildContainer) Upper() string {
	d, err := c.e.upperDir(c.r)
	if err != nil {
		return ""
	}
	return d
}

// Run attaches to the container's output, starts it and waits for it.
func (c *buildContainer) Run(ctx context.Context, out io.Writer) (int, error) {
	ours, theirs := net.Pipe()
	defer ours.Close()
	c.e.addPending(c.r.ID, &pendingAttach{conn: theirs, opts: container.AttachOptions{Stdout: true, Stderr: true}})
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = stdcopy.StdCopy(out, out, ours)
	}()
	if err := c.e.start(ctx, c.r.ID); err != nil {
		theirs.Close()
		return 0, err
	}
	code, err := c.e.wait(ctx, c.r.ID, "not-running")
	if err != nil {
		return 0, err
	}
	select {
	case <-copied:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	return int(code), nil
}

func (c *buildContainer) Remove(ctx context.Context) error {
	return c.e.remove(ctx, c.r.ID, true, true)
}
