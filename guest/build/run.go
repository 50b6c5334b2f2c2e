//go:build linux

package build

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// runStep runs a RUN instruction in an intermediate container and commits
// its changes as a layer.
func (r *run) runStep(ctx context.Context, st *stage, c *instructions.RunCommand) error {
	if len(c.FlagsUsed) > 0 {
		return fmt.Errorf("the --%s option requires BuildKit: this builder is docker's classic one: %w", c.FlagsUsed[0], errdefs.ErrNotImplemented)
	}
	if len(c.Files) > 0 {
		return fmt.Errorf("RUN with a heredoc requires BuildKit: this builder is docker's classic one: %w", errdefs.ErrNotImplemented)
	}
	if st.imageID == "" {
		return fmt.Errorf("RUN in a stage FROM scratch has no command to run: add a base image: %w", errdefs.ErrInvalidArgument)
	}
	cmd := r.shellCmd(st, c.ShellDependantCmdLine)
	argEnv := r.argEnv(st)
	saveCmd := cmd
	if len(argEnv) > 0 {
		sorted := append([]string{}, argEnv...)
		sort.Strings(sorted)
		saveCmd = append(append([]string{fmt.Sprintf("|%d", len(sorted))}, sorted...), cmd...)
	}
	env := append(r.proxyEnv(st), argEnv...)
	env = append(env, st.cf.Config.Env...)
	spec := RunSpec{Cmd: cmd, Env: env, User: st.cf.Config.User, WorkingDir: st.cf.Config.WorkingDir, Network: r.opts.Network}
	parent := st.imageID
	return r.commit(ctx, st, step{
		createdBy: strings.Join(saveCmd, " "),
		config:    copyConfig(st.cf.Config),
		make:      func(ctx context.Context) (string, error) { return r.execute(ctx, parent, spec) },
	})
}

// proxyEnv is docker's built-in proxy build args: passed to RUN when given,
// never recorded.
func (r *run) proxyEnv(st *stage) []string {
	var out []string
	for k, v := range r.opts.BuildArgs {
		if builtinArgs[k] && st.args[k] == nil {
			out = append(out, k+"="+v)
		}
	}
	sort.Strings(out)
	return out
}

// execute runs spec in a container of image parent and returns its
// changes as a layer tar.
func (r *run) execute(ctx context.Context, parent string, spec RunSpec) (string, error) {
	c, err := r.b.eng.Create(ctx, parent, spec)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(r.out, " ---> Running in %s\n", shortID(c.ID()))
	defer func() {
		if err := c.Remove(context.WithoutCancel(ctx)); err != nil {
			log.G(ctx).WithError(err).Warnf("build: removing intermediate container %s", c.ID())
			return
		}
		fmt.Fprintf(r.out, "Removing intermediate container %s\n", shortID(c.ID()))
	}()
	code, err := c.Run(ctx, r.out)
	if err != nil {
		return "", err
	}
	if code != 0 {
		return "", &RunError{Cmd: spec.Cmd, Code: code}
	}
	return r.layerOf(c.Upper(), true)
}

// layerOf writes dir as a layer tar in the build's scratch space; upper
// dirs get whiteouts and lose the runtime's mount points.
func (r *run) layerOf(dir string, upper bool) (string, error) {
	f, err := os.CreateTemp(r.b.tmp, "layer-*.tar")
	if err != nil {
		return "", err
	}
	f.Close()
	r.scratch = append(r.scratch, f.Name())
	if err := WriteLayer(dir, f.Name(), upper); err != nil {
		return "", fmt.Errorf("write layer: %w", err)
	}
	return f.Name(), nil
}

// workdirStep sets the working directory and creates it when the image
// does not have it, as docker does.
func (r *run) workdirStep(ctx context.Context, st *stage, c *instructions.WorkdirCommand) error {
	cfg := copyConfig(st.cf.Config)
	cfg.WorkingDir = workdir(st, c.Path)
	parent := st.imageID
	return r.commit(ctx, st, step{
		createdBy: "/bin/sh -c #(nop) WORKDIR " + cfg.WorkingDir,
		config:    cfg,
		make: func(ctx context.Context) (string, error) {
			view, release, err := r.b.eng.View(ctx, parent)
			if err != nil {
				return "", err
			}
			defer release()
			if p, err := securejoin.SecureJoin(view, cfg.WorkingDir); err == nil {
				if _, err := os.Stat(p); err == nil {
					return "", nil
				}
			}
			staging, err := r.stagingDir()
			if err != nil {
				return "", err
			}
			if _, err := mkdirAllLike(view, staging, cfg.WorkingDir, nil); err != nil {
				return "", err
			}
			return r.layerOf(staging, false)
		},
	})
}

// stagingDir is a new empty directory in the build's scratch space.
func (r *run) stagingDir() (string, error) {
	d, err := os.MkdirTemp(r.b.tmp, "staging-")
	if err != nil {
		return "", err
	}
	r.scratch = append(r.scratch, d)
	return d, os.Chmod(d, 0o755)
}

// cleanup removes the build's scratch files.
func (r *run) cleanup() {
	for _, p := range r.scratch {
		_ = os.RemoveAll(filepath.Clean(p))
	}
}
