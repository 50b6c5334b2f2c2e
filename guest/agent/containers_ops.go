//go:build linux

package agent

import (
	"context"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"

	"github.com/berth-dev/berth/guest/container"
	"github.com/berth-dev/berth/guest/volume"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// pause freezes (or with pause false, thaws) a container.
func (e *engine) pause(ctx context.Context, ref string, pause bool) error {
	r, err := e.store.get(ref)
	if err != nil {
		return err
	}
	defer e.lock(r.ID)()
	c, err := e.runtimeContainer(r)
	if err != nil {
		return err
	}
	st := c.State(ctx).Status
	switch {
	case pause && st == container.StatusPaused:
		return newKindError(errdefs.ErrConflict, "Container %s is already paused", r.ID)
	case pause && st != container.StatusRunning:
		return newKindError(errdefs.ErrConflict, "Container %s is not running", r.ID)
	case !pause && st != container.StatusPaused:
		return newKindError(errdefs.ErrConflict, "Container %s is not paused", r.ID)
	}
	if pause {
		return c.Pause(ctx)
	}
	return c.Resume(ctx)
}

// rename gives a container a new name.
func (e *engine) rename(ctx context.Context, ref, name string) error {
	name = strings.TrimPrefix(name, "/")
	if name == "" || !validContainerName.MatchString(name) {
		return newKindError(errdefs.ErrInvalidArgument, "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name)
	}
	r, err := e.store.get(ref)
	if err != nil {
		return err
	}
	defer e.lock(r.ID)()
	if r.Name == name {
		return newKindError(errdefs.ErrInvalidArgument, "Renaming a container with the same name as its current name")
	}
	old, err := e.store.rename(r.ID, name)
	if err != nil {
		return err
	}
	r.Name = name
	e.renameEndpoints(ctx, r.ID, old, name)
	e.publish(r, "rename", map[string]string{"oldName": "/" + old})
	return nil
}

// renameEndpoints makes the embedded DNS of the container's networks answer
// for its new name instead of old, and updates the DNS names inspect shows.
// The rename itself has happened: failures here are logged.
func (e *engine) renameEndpoints(ctx context.Context, id, old, name string) {
	if err := e.nets.Rename(ctx, id, name); err != nil {
		log.G(ctx).WithError(err).WithField("container", shortID(id)).Warn("rename: networks still resolve the old name")
	}
	_, err := e.store.update(id, func(r *record) error {
		for _, es := range r.Networks {
			for i, n := range es.DNSNames {
				if n == old {
					es.DNSNames[i] = name
				}
			}
		}
		return nil
	})
	if err != nil {
		log.G(ctx).WithError(err).WithField("container", shortID(id)).Warn("rename: update DNS names")
	}
}

// prune removes stopped containers that match the filters.
func (e *engine) prune(ctx context.Context, filters []string) (*agentv1.PruneResponse, error) {
	match, err := parsePruneFilters(filters)
	if err != nil {
		return nil, err
	}
	recs, err := e.store.list()
	if err != nil {
		return nil, err
	}
	resp := &agentv1.PruneResponse{}
	for _, r := range recs {
		if isUp(e.state(ctx, r).Status) || !match(r) {
			continue
		}
		var size int64
		if c, err := e.rt.Get(r.ID); err == nil {
			size = volume.DirSize(c.Dir() + "/upper")
		}
		if err := e.remove(ctx, r.ID, false, false); err != nil {
			if errdefs.IsNotFound(err) || errdefs.IsConflict(err) {
				continue
			}
			return nil, err
		}
		resp.Deleted = append(resp.Deleted, r.ID)
		if size > 0 {
			resp.SpaceReclaimed += uint64(size)
		}
	}
	return resp, nil
}

// upperDir is the container's writable layer.
func (e *engine) upperDir(r *record) (string, error) {
	c, err := e.runtimeContainer(r)
	if err != nil {
		return "", err
	}
	d := c.Dir() + "/upper"
	if _, err := os.Stat(d); err != nil {
		return "", err
	}
	return d, nil
}

// parsePruneFilters supports docker's container prune filters: label,
// label!, until.
func parsePruneFilters(filters []string) (func(*record) bool, error) {
	var preds []func(*record) bool
	for _, f := range filters {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, newKindError(errdefs.ErrInvalidArgument, "bad format of filter (expected name=value): %s", f)
		}
		switch k {
		case "label", "label!":
			lk, lv, has := strings.Cut(v, "=")
			neg := k == "label!"
			preds = append(preds, func(r *record) bool {
				got, ok := r.Config.Labels[lk]
				return (ok && (!has || got == lv)) != neg
			})
		case "until":
			t, err := parseUntil(v)
			if err != nil {
				return nil, err
			}
			preds = append(preds, func(r *record) bool { return r.Created.Before(t) })
		default:
			return nil, newKindError(errdefs.ErrInvalidArgument, "invalid filter '%s'", k)
		}
	}
	return func(r *record) bool {
		for _, p := range preds {
			if !p(r) {
				return false
			}
		}
		return true
	}, nil
}

// parseUntil accepts a duration ("24h", relative to now), a unix time or
// an RFC 3339 time.
func parseUntil(v string) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil {
		return time.Now().Add(-d), nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(n, 0), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	return time.Time{}, newKindError(errdefs.ErrInvalidArgument, "invalid filter 'until=%s': use a duration (24h), a unix time or an RFC 3339 time", v)
}
