//go:build linux

package agent

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	units "github.com/docker/go-units"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/berth-dev/berth/guest/container"
	"github.com/berth-dev/berth/guest/image"
	"github.com/berth-dev/berth/guest/volume"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// listed is a record with its current state.
type listed struct {
	r  *record
	st container.State
}

func (e *engine) list(ctx context.Context, req *agentv1.ListContainersRequest) (*agentv1.ListContainersResponse, error) {
	match, err := e.listFilter(req.Filters)
	if err != nil {
		return nil, err
	}
	recs, err := e.store.list()
	if err != nil {
		return nil, err
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].Created.After(recs[j].Created) })
	resp := &agentv1.ListContainersResponse{}
	for i, r := range recs {
		if req.Limit > 0 && i >= int(req.Limit) {
			break
		}
		l := listed{r: r, st: e.state(ctx, r)}
		if !req.All && req.Limit <= 0 && !isUp(l.st.Status) && !hasStatusFilter(req.Filters) {
			continue
		}
		if !match(l) {
			continue
		}
		resp.Containers = append(resp.Containers, e.summary(l, req.Size))
	}
	return resp, nil
}

func hasStatusFilter(fs []string) bool {
	for _, f := range fs {
		if strings.HasPrefix(f, "status=") || strings.HasPrefix(f, "exited=") {
			return true
		}
	}
	return false
}

func (e *engine) summary(l listed, size bool) *agentv1.ContainerSummary {
	r := l.r
	s := &agentv1.ContainerSummary{
		Id: r.ID, Names: []string{"/" + r.Name}, Image: r.Image, ImageId: r.ImageID,
		Command: commandString(r), Created: timestamppb.New(r.Created),
		State: string(l.st.Status), Status: statusString(l.st, time.Now()), Labels: r.Config.Labels,
	}
	for _, n := range networkOrder(r) {
		s.Networks = append(s.Networks, n)
	}
	for _, m := range r.Mounts {
		if m.Type == "volume" {
			s.Mounts = append(s.Mounts, m.Name)
		} else {
			s.Mounts = append(s.Mounts, m.Source)
		}
	}
	for p, bs := range r.HostConfig.PortBindings {
		for _, b := range bs {
			hp, _ := strconv.Atoi(b.HostPort)
			s.Ports = append(s.Ports, &agentv1.PortBinding{HostIp: b.HostIP.String(), HostPort: uint32(hp), ContainerPort: uint32(p.Num()), Proto: string(p.Proto())})
		}
	}
	if size {
		if d, err := e.upperDir(r); err == nil {
			s.SizeRw = volume.DirSize(d)
		}
	}
	return s
}

// commandString is docker's COMMAND column source: path and args joined.
func commandString(r *record) string {
	return strings.TrimSpace(r.Path + " " + strings.Join(r.Args, " "))
}

// statusString is docker's human status.
func statusString(st container.State, now time.Time) string {
	switch st.Status {
	case container.StatusRunning:
		return "Up " + units.HumanDuration(now.Sub(st.StartedAt))
	case container.StatusPaused:
		return "Up " + units.HumanDuration(now.Sub(st.StartedAt)) + " (Paused)"
	case container.StatusRestarting:
		return fmt.Sprintf("Restarting (%d) %s ago", st.ExitCode, units.HumanDuration(now.Sub(st.FinishedAt)))
	case container.StatusExited:
		if st.FinishedAt.IsZero() {
			return fmt.Sprintf("Exited (%d)", st.ExitCode)
		}
		return fmt.Sprintf("Exited (%d) %s ago", st.ExitCode, units.HumanDuration(now.Sub(st.FinishedAt)))
	case container.StatusDead:
		return "Dead"
	}
	return "Created"
}

// listFilter turns docker's ps filters into a predicate. Values of the same
// key are alternatives; different keys must all match.
func (e *engine) listFilter(filters []string) (func(listed) bool, error) {
	by := map[string][]string{}
	for _, f := range filters {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, newKindError(errdefs.ErrInvalidArgument, "bad format of filter (expected name=value): %s", f)
		}
		switch k {
		case "status", "name", "label", "ancestor", "id", "exited", "network", "volume":
		default:
			return nil, newKindError(errdefs.ErrInvalidArgument, "invalid filter '%s'", k)
		}
		if k == "status" {
			switch v {
			case "created", "restarting", "running", "removing", "paused", "exited", "dead":
			default:
				return nil, newKindError(errdefs.ErrInvalidArgument, "invalid filter 'status=%s'", v)
			}
		}
		by[k] = append(by[k], v)
	}
	ancestors := map[string]bool{}
	for _, a := range by["ancestor"] {
		if img, err := e.images.Get(context.Background(), a); err == nil {
			ancestors[img.ID] = true
		}
	}
	return func(l listed) bool {
		for k, vals := range by {
			ok := false
			for _, v := range vals {
				if matchOne(l, k, v, ancestors) {
					ok = true
					break
				}
			}
			if !ok {
				return false
			}
		}
		return true
	}, nil
}

func matchOne(l listed, k, v string, ancestors map[string]bool) bool {
	r := l.r
	switch k {
	case "status":
		return string(l.st.Status) == v
	case "name":
		return strings.Contains(r.Name, strings.TrimPrefix(v, "/"))
	case "id":
		return strings.HasPrefix(r.ID, v)
	case "label":
		lk, lv, has := strings.Cut(v, "=")
		got, ok := r.Config.Labels[lk]
		return ok && (!has || got == lv)
	case "ancestor":
		return ancestors[r.ImageID] || r.Image == v || image.FamiliarString(r.Image) == v
	case "exited":
		return l.st.Status == container.StatusExited && strconv.Itoa(l.st.ExitCode) == v
	case "network":
		for n, es := range r.Networks {
			if n == v || es.NetworkID == v {
				return true
			}
		}
	case "volume":
		for _, m := range r.Mounts {
			if m.Name == v || m.Destination == v || m.Source == v {
				return true
			}
		}
	}
	return false
}
