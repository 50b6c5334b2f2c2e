//go:build linux

package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/berth-dev/berth/guest/build"
	"github.com/berth-dev/berth/guest/container"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// commit makes an image of the container: its image's layers plus its
// writable layer, with the container's config and the -c changes applied.
// The image goes into the store through Load (a docker archive), so it is
// runnable at once.
func (e *engine) commit(ctx context.Context, r *record, req *agentv1.CommitRequest) (string, error) {
	var tag name.Reference
	if req.Ref != "" {
		t, err := name.NewTag(req.Ref)
		if err != nil {
			return "", newKindError(errdefs.ErrInvalidArgument, "invalid reference format: %s", req.Ref)
		}
		tag = t
	}
	cfg, err := imageConfigOf(r)
	if err != nil {
		return "", err
	}
	if err := applyChanges(&cfg, req.Changes); err != nil {
		return "", err
	}
	upper, err := e.upperDir(r)
	if err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(e.dataDir, "commit-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if req.Pause {
		if c, err := e.rt.Get(r.ID); err == nil && c.State(ctx).Status == container.StatusRunning {
			if err := c.Pause(ctx); err == nil {
				defer c.Resume(context.WithoutCancel(ctx)) //nolint:errcheck // best effort
			}
		}
	}
	layerPath := filepath.Join(tmp, "layer.tar")
	if err := build.WriteLayer(upper, layerPath, true); err != nil {
		return "", fmt.Errorf("commit %s: %w", r.Name, err)
	}
	img, err := e.commitImage(ctx, r, tmp, layerPath, cfg, req)
	if err != nil {
		return "", fmt.Errorf("commit %s: %w", r.Name, err)
	}
	id, err := img.ConfigName()
	if err != nil {
		return "", err
	}
	if tag == nil {
		tag, _ = name.NewDigest("berth.invalid/untagged@" + id.String())
	}
	if err := e.loadImage(ctx, tmp, tag, img); err != nil {
		return "", fmt.Errorf("commit %s: %w", r.Name, err)
	}
	e.publish(r, "commit", map[string]string{"comment": req.Comment})
	return id.String(), nil
}

// commitImage stacks the layer on the container's image.
func (e *engine) commitImage(ctx context.Context, r *record, tmp, layerPath string, cfg v1.Config, req *agentv1.CommitRequest) (v1.Image, error) {
	basePath := filepath.Join(tmp, "base.tar")
	f, err := os.Create(basePath)
	if err != nil {
		return nil, err
	}
	err = e.images.Save(ctx, []string{r.ImageID}, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("read base image: %w", err)
	}
	base, err := tarball.ImageFromPath(basePath, nil)
	if err != nil {
		return nil, fmt.Errorf("read base image: %w", err)
	}
	layer, err := tarball.LayerFromFile(layerPath)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	img, err := mutate.Append(base, mutate.Addendum{Layer: layer, History: v1.History{
		Created: v1.Time{Time: now}, Author: req.Author, Comment: req.Comment, CreatedBy: commandString(r),
	}})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Config, cf.Created, cf.Author, cf.Container = cfg, v1.Time{Time: now}, req.Author, r.ID
	return mutate.ConfigFile(img, cf)
}

// loadImage writes img as a docker archive and loads it into the store.
func (e *engine) loadImage(ctx context.Context, tmp string, ref name.Reference, img v1.Image) error {
	p := filepath.Join(tmp, "image.tar")
	if err := tarball.MultiRefWriteToFile(p, map[name.Reference]v1.Image{ref: img}); err != nil {
		return err
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = e.images.Load(ctx, f)
	return err
}

// imageConfigOf is the container's configuration as an image config.
func imageConfigOf(r *record) (v1.Config, error) {
	var cfg v1.Config
	c := *r.Config
	c.Image, c.Hostname = "", ""
	b, err := json.Marshal(c)
	if err != nil {
		return cfg, err
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// applyChanges applies `docker commit -c` Dockerfile instructions.
func applyChanges(cfg *v1.Config, changes []string) error {
	for _, ch := range changes {
		instr, rest, _ := strings.Cut(strings.TrimSpace(ch), " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(instr) {
		case "CMD":
			cfg.Cmd = execForm(rest)
		case "ENTRYPOINT":
			cfg.Entrypoint = execForm(rest)
		case "ENV":
			for _, kv := range keyValues(rest) {
				cfg.Env = setEnv(cfg.Env, kv)
			}
		case "LABEL":
			if cfg.Labels == nil {
				cfg.Labels = map[string]string{}
			}
			for _, kv := range keyValues(rest) {
				k, v, _ := strings.Cut(kv, "=")
				cfg.Labels[k] = v
			}
		case "EXPOSE":
			if cfg.ExposedPorts == nil {
				cfg.ExposedPorts = map[string]struct{}{}
			}
			for _, p := range strings.Fields(rest) {
				if !strings.Contains(p, "/") {
					p += "/tcp"
				}
				cfg.ExposedPorts[p] = struct{}{}
			}
		case "USER":
			cfg.User = rest
		case "WORKDIR":
			cfg.WorkingDir = rest
		case "STOPSIGNAL":
			cfg.StopSignal = rest
		case "VOLUME":
			if cfg.Volumes == nil {
				cfg.Volumes = map[string]struct{}{}
			}
			for _, v := range jsonOrFields(rest) {
				cfg.Volumes[v] = struct{}{}
			}
		case "ONBUILD":
			cfg.OnBuild = append(cfg.OnBuild, rest)
		default:
			return newKindError(errdefs.ErrInvalidArgument, "%s is not a valid change command", instr)
		}
	}
	return nil
}

// execForm parses ["a","b"] or the shell form (run by /bin/sh -c).
func execForm(s string) []string {
	var list []string
	if json.Unmarshal([]byte(s), &list) == nil {
		return list
	}
	return []string{"/bin/sh", "-c", s}
}

func jsonOrFields(s string) []string {
	var list []string
	if json.Unmarshal([]byte(s), &list) == nil {
		return list
	}
	return strings.Fields(s)
}

// keyValues parses "k=v k2=v2" or the legacy "k v" form; quotes around
// values are removed.
func keyValues(s string) []string {
	if !strings.Contains(strings.SplitN(s, " ", 2)[0], "=") {
		k, v, _ := strings.Cut(s, " ")
		return []string{k + "=" + strings.Trim(strings.TrimSpace(v), `"`)}
	}
	var out []string
	for _, f := range strings.Fields(s) {
		k, v, _ := strings.Cut(f, "=")
		out = append(out, k+"="+strings.Trim(v, `"`))
	}
	return out
}

func setEnv(env []string, kv string) []string {
	k, _, _ := strings.Cut(kv, "=")
	for i, e := range env {
		if strings.HasPrefix(e, k+"=") {
			env[i] = kv
			return env
		}
	}
	return append(env, kv)
}
