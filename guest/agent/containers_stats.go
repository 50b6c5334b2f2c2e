//go:build linux

package agent

import (
	"context"
	"encoding/json"
	"time"

	"github.com/containerd/errdefs"
	ctypes "github.com/moby/moby/api/types/container"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/berth-dev/berth/guest/container"
)

// stats sends docker's StatsResponse documents: one, or one a second while
// stream is set, the container runs and ctx lasts.
func (e *engine) stats(ctx context.Context, r *record, stream bool, send func([]byte) error) error {
	c, err := e.runtimeContainer(r)
	if err != nil {
		return err
	}
	var prev ctypes.StatsResponse
	first := true
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		doc := ctypes.StatsResponse{ID: r.ID, Name: "/" + r.Name, OSType: "linux"}
		if isUp(c.State(ctx).Status) {
			s, err := c.Stats(ctx)
			if err != nil && !errdefs.IsNotFound(err) {
				return err
			}
			fillStats(&doc, s)
			doc.Networks = e.netStats(r)
		}
		if first && !stream {
			// One-shot: docker samples twice so that a CPU % can be had.
			prev, first = doc, false
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		doc.PreRead, doc.PreCPUStats = prev.Read, prev.CPUStats
		b, err := json.Marshal(doc)
		if err != nil {
			return err
		}
		if err := send(b); err != nil {
			return err
		}
		prev, first = doc, false
		if !stream {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-e.ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func fillStats(doc *ctypes.StatsResponse, s container.Stats) {
	doc.Read = s.Read
	doc.CPUStats = ctypes.CPUStats{CPUUsage: ctypes.CPUUsage{TotalUsage: s.CPUUsage}, SystemUsage: s.SystemUsage, OnlineCPUs: s.OnlineCPUs}
	doc.MemoryStats = ctypes.MemoryStats{Usage: s.MemoryUsage, Limit: s.MemoryLimit}
	doc.PidsStats = ctypes.PidsStats{Current: s.PidsCurrent, Limit: s.PidsLimit}
	doc.NumProcs = 0
	doc.BlkioStats.IoServiceBytesRecursive = []ctypes.BlkioStatEntry{
		{Op: "read", Value: s.BlkioRead}, {Op: "write", Value: s.BlkioWrite},
	}
}

// netStats reads the interface counters inside the container's network
// namespace (everything but lo).
func (e *engine) netStats(r *record) map[string]ctypes.NetworkStats {
	if _, host := r.Networks["host"]; host {
		return nil
	}
	ns, err := netns.GetFromPath(e.netnsPath(r.ID))
	if err != nil {
		return nil
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return nil
	}
	defer h.Close()
	links, err := h.LinkList()
	if err != nil {
		return nil
	}
	out := map[string]ctypes.NetworkStats{}
	for _, l := range links {
		a := l.Attrs()
		if a.Name == "lo" || a.Statistics == nil {
			continue
		}
		st := a.Statistics
		out[a.Name] = ctypes.NetworkStats{
			RxBytes: st.RxBytes, RxPackets: st.RxPackets, RxErrors: st.RxErrors, RxDropped: st.RxDropped,
			TxBytes: st.TxBytes, TxPackets: st.TxPackets, TxErrors: st.TxErrors, TxDropped: st.TxDropped,
		}
	}
	return out
}
