//go:build linux

package build

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// defaultPath is the PATH docker gives images that set none.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// stage is the state of the stage being built: its current image and
// config, and the ARGs it declared.
type stage struct {
	imageID string
	cf      *v1.ConfigFile
	// args are the ARGs declared in this stage with their values; an
	// ARG without a value is declared but unset.
	args  map[string]*string
	order []string
	// cmdSet records a CMD in this stage: ENTRYPOINT resets an
	// inherited CMD, as docker does, but not one the stage set.
	cmdSet bool
}

// metaArg evaluates an ARG before the first FROM.
func (r *run) metaArg(a *instructions.ArgCommand) error {
	env := make([]string, 0, len(r.metaArgs))
	for k, v := range r.metaArgs {
		env = append(env, k+"="+v)
	}
	if err := a.Expand(r.plan.expander(env)); err != nil {
		return err
	}
	for _, kv := range a.Args {
		if v, ok := r.opts.BuildArgs[kv.Key]; ok {
			r.metaArgs[kv.Key] = v
			r.consumed[kv.Key] = true
		} else if kv.Value != nil {
			r.metaArgs[kv.Key] = *kv.Value
		}
	}
	return nil
}

// from starts a stage: from an earlier stage, scratch or an image.
func (r *run) from(ctx context.Context, s instructions.Stage) (*stage, error) {
	env := make([]string, 0, len(r.metaArgs))
	for k, v := range r.metaArgs {
		env = append(env, k+"="+v)
	}
	base, err := r.plan.expander(env)(s.BaseName)
	if err != nil {
		return nil, fmt.Errorf("FROM %s: %v: %w", s.BaseName, err, errdefs.ErrInvalidArgument)
	}
	if base == "" {
		return nil, fmt.Errorf("base name (%s) should not be blank: %w", s.BaseName, errdefs.ErrInvalidArgument)
	}
	if s.Platform != "" {
		fmt.Fprintf(r.out, "[Warning] FROM --platform=%s is ignored: this builder uses the engine's platform\n", s.Platform)
	}
	st := &stage{args: map[string]*string{}}
	switch prev, ok := r.stages[strings.ToLower(base)]; {
	case ok:
		st.imageID, st.cf = prev.imageID, prev.cf.DeepCopy()
	case strings.EqualFold(base, "scratch"):
		st.cf = &v1.ConfigFile{OS: "linux", Architecture: runtime.GOARCH}
	default:
		id, cf, err := r.b.eng.Image(ctx, base, r.opts.Platform, r.opts.Pull, r.out)
		if err != nil {
			return nil, err
		}
		st.imageID, st.cf = id, cf
	}
	if !hasEnv(st.cf.Config.Env, "PATH") {
		st.cf.Config.Env = append(st.cf.Config.Env, defaultPath)
	}
	r.printImage(st)
	return st, r.onBuild(ctx, st)
}

// onBuild runs the base image's ONBUILD triggers, as docker does right
// after FROM.
func (r *run) onBuild(ctx context.Context, st *stage) error {
	triggers := st.cf.Config.OnBuild
	if len(triggers) == 0 {
		return nil
	}
	st.cf.Config.OnBuild = nil
	plural := "s"
	if len(triggers) == 1 {
		plural = ""
	}
	fmt.Fprintf(r.out, "# Executing %d build trigger%s\n", len(triggers), plural)
	for _, t := range triggers {
		cmd, err := parseTrigger(t)
		if err != nil {
			return fmt.Errorf("ONBUILD trigger %q: %v: %w", t, err, errdefs.ErrInvalidArgument)
		}
		if err := r.dispatch(ctx, st, cmd); err != nil {
			return err
		}
	}
	return nil
}

// buildEnv is the environment for expanding words and for RUN: the
// stage's ARG values (not those ENV overrides), then the config's ENV.
func (r *run) buildEnv(st *stage) []string {
	env := r.argEnv(st)
	return append(env, st.cf.Config.Env...)
}

// argEnv is the stage's ARGs that have a value and that no ENV overrides.
func (r *run) argEnv(st *stage) []string {
	var out []string
	for _, k := range st.order {
		v := st.args[k]
		if v == nil || hasEnv(st.cf.Config.Env, k) {
			continue
		}
		out = append(out, k+"="+*v)
	}
	return out
}

func hasEnv(env []string, key string) bool {
	for _, e := range env {
		if k, _, _ := strings.Cut(e, "="); k == key {
			return true
		}
	}
	return false
}

func setEnv(env []string, key, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, e := range env {
		if k, _, _ := strings.Cut(e, "="); k != key {
			out = append(out, e)
		}
	}
	return append(out, key+"="+value)
}

// step is one committed build step.
type step struct {
	// createdBy is the history entry, as docker writes it; with the
	// parent and the new config it is the step's cache key.
	createdBy string
	// config is the image config after the step.
	config v1.Config
	// make produces the step's layer tar ("" for a config-only step). It
	// runs only when the cache has no image for the step.
	make func(ctx context.Context) (string, error)
}

// commit finishes a step: an image from the cache, or a new one.
func (r *run) commit(ctx context.Context, st *stage, s step) error {
	key := cacheKey(s.createdBy, s.config)
	if !r.opts.NoCache {
		if id, ok := r.b.cache.get(st.imageID, key); ok {
			if cf, err := r.b.eng.Config(ctx, id); err == nil {
				fmt.Fprintln(r.out, " ---> Using cache")
				st.imageID, st.cf = id, cf
				return nil
			}
		}
	}
	layer := ""
	if s.make != nil {
		var err error
		if layer, err = s.make(ctx); err != nil {
			return err
		}
	}
	cf := st.cf.DeepCopy()
	cf.Config = s.config
	cf.Created = v1.Time{Time: time.Now().UTC()}
	cf.History = append(cf.History, v1.History{Created: cf.Created, CreatedBy: s.createdBy, EmptyLayer: layer == ""})
	if cf.OS == "" {
		cf.OS, cf.Architecture = "linux", runtime.GOARCH
	}
	id, err := r.b.eng.Commit(ctx, st.imageID, layer, cf)
	if layer != "" {
		_ = os.Remove(layer) // the store has it now
	}
	if err != nil {
		return err
	}
	if err := r.b.cache.put(st.imageID, key, id); err != nil {
		return err
	}
	st.imageID, st.cf = id, cf
	return nil
}

// nop is docker's created_by for a config-only step.
func nop(comment string) string { return "/bin/sh -c #(nop)  " + comment }
