//go:build linux

package build

import (
	"context"
	"fmt"
	"maps"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// dispatch runs one instruction of a stage.
func (r *run) dispatch(ctx context.Context, st *stage, cmd instructions.Command) error {
	if ex, ok := cmd.(instructions.SupportsSingleWordExpansion); ok {
		if _, isRun := cmd.(*instructions.RunCommand); !isRun {
			if err := ex.Expand(r.plan.expander(r.buildEnv(st))); err != nil {
				return fmt.Errorf("%s: %v: %w", cmd.Name(), err, errdefs.ErrInvalidArgument)
			}
		}
	}
	cfg := copyConfig(st.cf.Config)
	switch c := cmd.(type) {
	case *instructions.RunCommand:
		return r.runStep(ctx, st, c)
	case *instructions.CopyCommand:
		return r.copyStep(ctx, st, c)
	case *instructions.AddCommand:
		return r.addStep(ctx, st, c)
	case *instructions.WorkdirCommand:
		return r.workdirStep(ctx, st, c)
	case *instructions.ArgCommand:
		return r.argStep(ctx, st, c)
	case *instructions.EnvCommand:
		var kvs []string
		for _, kv := range c.Env {
			cfg.Env = setEnv(cfg.Env, kv.Key, kv.Value)
			kvs = append(kvs, kv.Key+"="+kv.Value)
		}
		return r.commit(ctx, st, step{createdBy: nop("ENV " + strings.Join(kvs, " ")), config: cfg})
	case *instructions.LabelCommand:
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		comment := "LABEL"
		for _, kv := range c.Labels {
			cfg.Labels[kv.Key] = kv.Value
			comment += " " + kv.Key + "=" + kv.Value
		}
		return r.commit(ctx, st, step{createdBy: nop(comment), config: cfg})
	case *instructions.MaintainerCommand:
		return r.commit(ctx, st, step{createdBy: nop("MAINTAINER " + c.Maintainer), config: cfg})
	case *instructions.CmdCommand:
		cfg.Cmd = r.shellCmd(st, c.ShellDependantCmdLine)
		st.cmdSet = true
		return r.commit(ctx, st, step{createdBy: nop(fmt.Sprintf("CMD %q", cfg.Cmd)), config: cfg})
	case *instructions.EntrypointCommand:
		cfg.Entrypoint = r.shellCmd(st, c.ShellDependantCmdLine)
		if len(c.CmdLine) == 0 {
			cfg.Entrypoint = nil
		}
		if !st.cmdSet {
			cfg.Cmd = nil
		}
		return r.commit(ctx, st, step{createdBy: nop(fmt.Sprintf("ENTRYPOINT %q", cfg.Entrypoint)), config: cfg})
	}
	return r.dispatchMore(ctx, st, cmd, cfg)
}

// dispatchMore runs the remaining config-only instructions.
func (r *run) dispatchMore(ctx context.Context, st *stage, cmd instructions.Command, cfg v1.Config) error {
	var comment string
	switch c := cmd.(type) {
	case *instructions.ExposeCommand:
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = map[string]struct{}{}
		}
		expand := r.plan.expander(r.buildEnv(st))
		specs := make([]string, 0, len(c.Ports))
		for _, p := range c.Ports {
			e, err := expand(p)
			if err != nil {
				return fmt.Errorf("EXPOSE %s: %v: %w", p, err, errdefs.ErrInvalidArgument)
			}
			specs = append(specs, e)
		}
		ports, err := exposedPorts(specs)
		if err != nil {
			return err
		}
		for _, p := range ports {
			cfg.ExposedPorts[p] = struct{}{}
		}
		comment = "EXPOSE " + strings.Join(ports, " ")
	case *instructions.UserCommand:
		cfg.User, comment = c.User, "USER "+c.User
	case *instructions.VolumeCommand:
		if cfg.Volumes == nil {
			cfg.Volumes = map[string]struct{}{}
		}
		for _, v := range c.Volumes {
			if strings.TrimSpace(v) == "" {
				return fmt.Errorf("VOLUME specified can not be an empty string: %w", errdefs.ErrInvalidArgument)
			}
			cfg.Volumes[v] = struct{}{}
		}
		comment = fmt.Sprintf("VOLUME %v", c.Volumes)
	case *instructions.StopSignalCommand:
		cfg.StopSignal, comment = c.Signal, "STOPSIGNAL "+c.Signal
	case *instructions.HealthCheckCommand:
		h := c.Health
		cfg.Healthcheck = &v1.HealthConfig{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries}
		comment = fmt.Sprintf("HEALTHCHECK &{%q %q %q %q %d}", h.Test, h.Interval, h.Timeout, h.StartPeriod, h.Retries)
	case *instructions.ShellCommand:
		cfg.Shell, comment = append([]string{}, c.Shell...), fmt.Sprintf("SHELL %v", c.Shell)
	case *instructions.OnbuildCommand:
		expr := strings.TrimSpace(c.Expression)
		cfg.OnBuild, comment = append(cfg.OnBuild, expr), "ONBUILD "+expr
	default:
		return fmt.Errorf("%s is not supported by this builder: %w", strings.ToUpper(cmd.Name()), errdefs.ErrNotImplemented)
	}
	return r.commit(ctx, st, step{createdBy: nop(comment), config: cfg})
}

// argStep declares ARGs in the stage, as docker commits them.
func (r *run) argStep(ctx context.Context, st *stage, c *instructions.ArgCommand) error {
	var parts []string
	for _, kv := range c.Args {
		var val *string
		switch v, ok := r.opts.BuildArgs[kv.Key]; {
		case ok:
			val = &v
			r.consumed[kv.Key] = true
		case kv.Value != nil:
			val = kv.Value
		default:
			if mv, ok := r.metaArgs[kv.Key]; ok {
				val = &mv
			}
		}
		if _, seen := st.args[kv.Key]; !seen {
			st.order = append(st.order, kv.Key)
		}
		st.args[kv.Key] = val
		part := kv.Key
		if kv.Value != nil {
			part += "=" + *kv.Value
		}
		parts = append(parts, part)
	}
	return r.commit(ctx, st, step{createdBy: nop("ARG " + strings.Join(parts, " ")), config: copyConfig(st.cf.Config)})
}

// shellCmd is a CMD/ENTRYPOINT/RUN command line: exec form as is, shell
// form run by the stage's SHELL.
func (r *run) shellCmd(st *stage, c instructions.ShellDependantCmdLine) []string {
	if !c.PrependShell {
		return append([]string{}, c.CmdLine...)
	}
	return append(shellOf(st), strings.Join(c.CmdLine, " "))
}

func shellOf(st *stage) []string {
	if len(st.cf.Config.Shell) > 0 {
		return append([]string{}, st.cf.Config.Shell...)
	}
	return []string{"/bin/sh", "-c"}
}

// workdir resolves p against the stage's working directory.
func workdir(st *stage, p string) string {
	if path.IsAbs(p) {
		return path.Clean(p)
	}
	cur := st.cf.Config.WorkingDir
	if cur == "" {
		cur = "/"
	}
	return path.Join(cur, p)
}

// copyConfig is a deep copy of an image config.
func copyConfig(c v1.Config) v1.Config {
	out := c
	out.Cmd = cloneSlice(c.Cmd)
	out.Entrypoint = cloneSlice(c.Entrypoint)
	out.Env = cloneSlice(c.Env)
	out.OnBuild = cloneSlice(c.OnBuild)
	out.Shell = cloneSlice(c.Shell)
	out.Labels = maps.Clone(c.Labels)
	out.Volumes = maps.Clone(c.Volumes)
	out.ExposedPorts = maps.Clone(c.ExposedPorts)
	if c.Healthcheck != nil {
		h := *c.Healthcheck
		h.Test = cloneSlice(h.Test)
		out.Healthcheck = &h
	}
	return out
}

func cloneSlice(s []string) []string {
	if s == nil {
		return nil
	}
	return append([]string{}, s...)
}

// exposedPorts normalizes EXPOSE's ports as docker does: "80" is
// "80/tcp", ranges ("8000-8002/udp") are expanded; sorted.
func exposedPorts(specs []string) ([]string, error) {
	set := map[string]bool{}
	for _, spec := range specs {
		for _, p := range strings.Fields(spec) {
			port, proto, _ := strings.Cut(p, "/")
			if proto == "" {
				proto = "tcp"
			}
			lo, hi, isRange := strings.Cut(port, "-")
			first, err1 := strconv.Atoi(lo)
			last, err2 := first, error(nil)
			if isRange {
				last, err2 = strconv.Atoi(hi)
			}
			if err1 != nil || err2 != nil || first < 1 || last > 65535 || last < first {
				return nil, fmt.Errorf("invalid containerPort: %s: %w", p, errdefs.ErrInvalidArgument)
			}
			for n := first; n <= last; n++ {
				set[fmt.Sprintf("%d/%s", n, strings.ToLower(proto))] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}
