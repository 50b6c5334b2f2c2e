//go:build linux

package agent

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	units "github.com/docker/go-units"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/berth-dev/berth/guest/container"
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
	recs, err := e.store.listShared() // read only
	if err != nil {
		return nil, err
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].Created.After(recs[j].Created) })
	win, err := e.listWindow(req.Filters)
	if err != nil {
		return nil, err
	}
	resp := &agentv1.ListContainersResponse{}
	for _, r := range recs {
		if req.Limit > 0 && len(resp.Containers) >= int(req.Limit) {
			break
		}
		include, stop := win.step(r)
		if stop {
			break
		}
		if !include {
			continue
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
		if strings.HasPrefix(f, "status=") { // docker: exited= alone needs --all
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
