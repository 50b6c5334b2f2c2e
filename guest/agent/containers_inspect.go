//go:build linux

package agent

import (
	"context"
	"path/filepath"
	"strings"
	"time"

	ctypes "github.com/moby/moby/api/types/container"
	ntypes "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/storage"

	"github.com/berth-dev/berth/guest/container"
	"github.com/berth-dev/berth/guest/volume"
)

// inspect builds docker's InspectResponse for a container.
func (e *engine) inspect(ctx context.Context, r *record, size bool) *ctypes.InspectResponse {
	st := e.state(ctx, r)
	doc := &ctypes.InspectResponse{
		ID: r.ID, Created: r.Created.Format(time.RFC3339Nano), Path: r.Path, Args: r.Args,
		State: inspectState(st), Image: r.ImageID, Name: "/" + r.Name, RestartCount: st.RestartCount,
		Driver: "overlay2", Platform: "linux", ExecIDs: e.execIDs(r.ID), HostConfig: r.HostConfig,
		Mounts: mountPoints(r.Mounts), Config: r.Config, NetworkSettings: e.networkSettings(r, st),
	}
	if doc.Args == nil {
		doc.Args = []string{}
	}
	if c, err := e.rt.Get(r.ID); err == nil {
		dir := c.Dir()
		doc.ResolvConfPath = filepath.Join(dir, "resolv.conf")
		doc.HostnamePath = filepath.Join(dir, "hostname")
		doc.HostsPath = filepath.Join(dir, "hosts")
		doc.LogPath = c.LogPath()
		doc.GraphDriver = &storage.DriverData{Name: "overlay2", Data: map[string]string{
			"LowerDir":  strings.Join(c.Config().Lowers, ":"),
			"UpperDir":  filepath.Join(dir, "upper"),
			"WorkDir":   filepath.Join(dir, "work"),
			"MergedDir": c.Rootfs(),
		}}
		if size {
			rw := volume.DirSize(filepath.Join(dir, "upper"))
			doc.SizeRw = &rw
			if img, err := e.images.Get(ctx, r.ImageID); err == nil {
				total := rw + img.Size
				doc.SizeRootFs = &total
			}
		}
	}
	return doc
}

func inspectState(st container.State) *ctypes.State {
	ts := func(t time.Time) string {
		if t.IsZero() {
			return "0001-01-01T00:00:00Z"
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	return &ctypes.State{
		Status: ctypes.ContainerState(st.Status), Running: st.Status == container.StatusRunning || st.Status == container.StatusPaused,
		Paused: st.Status == container.StatusPaused, Restarting: st.Status == container.StatusRestarting,
		OOMKilled: st.OOMKilled, Dead: st.Status == container.StatusDead, Pid: st.Pid, ExitCode: st.ExitCode,
		Error: st.Error, StartedAt: ts(st.StartedAt), FinishedAt: ts(st.FinishedAt),
	}
}

// networkSettings is docker's NetworkSettings; endpoints are shown while
// the container is up (docker's view: a stopped container has none).
func (e *engine) networkSettings(r *record, st container.State) *ctypes.NetworkSettings {
	ns := &ctypes.NetworkSettings{Networks: map[string]*ntypes.EndpointSettings{}, Ports: ntypes.PortMap{}}
	up := isUp(st.Status)
	if up {
		ns.SandboxID = r.ID
		if _, host := r.Networks["host"]; !host && joinedID(r) == "" {
			ns.SandboxKey = e.netnsPath(r.ID)
		}
	}
	for name, es := range r.Networks {
		c := es.Copy()
		if !up {
			clearEndpoint(c)
		}
		ns.Networks[name] = c
	}
	for p, b := range r.HostConfig.PortBindings {
		ns.Ports[p] = b
	}
	for p := range r.Config.ExposedPorts {
		if _, ok := ns.Ports[p]; !ok {
			ns.Ports[p] = nil
		}
	}
	return ns
}

func (e *engine) execIDs(containerID string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var ids []string
	for id, x := range e.execs {
		if x.containerID == containerID {
			ids = append(ids, id)
		}
	}
	return ids
}
