package client

import (
	"fmt"
	"strings"

	units "github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
)

// statsRow is one line of `stats`; its fields are what --format names.
type statsRow struct {
	BlockIO   string
	CPUPerc   string
	Container string
	ID        string
	MemPerc   string
	MemUsage  string
	Name      string
	NetIO     string
	PIDs      string
}

// Docker's stats format and titles.
const statsTableFormat = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"

var statsHeader = map[string]string{
	"ID": "CONTAINER ID", "Name": "NAME", "CPUPerc": "CPU %", "MemUsage": "MEM USAGE / LIMIT",
	"MemPerc": "MEM %", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O", "PIDs": "PIDS", "Container": "CONTAINER",
}

// cpuSample is what the CPU percentage is computed against.
type cpuSample struct {
	total, system uint64
}

// cpuPercent is docker's calculateCPUPercentUnix: the container's share of
// the system's CPU time between two samples, times the number of CPUs.
func cpuPercent(prev cpuSample, s *container.StatsResponse) float64 {
	cpuDelta := float64(s.CPUStats.CPUUsage.TotalUsage) - float64(prev.total)
	sysDelta := float64(s.CPUStats.SystemUsage) - float64(prev.system)
	online := float64(s.CPUStats.OnlineCPUs)
	if online == 0 {
		online = float64(len(s.CPUStats.CPUUsage.PercpuUsage))
	}
	if sysDelta > 0 && cpuDelta > 0 {
		return cpuDelta / sysDelta * online * 100
	}
	return 0
}

// memUsage is docker's usage without the page cache: cgroup v1's
// total_inactive_file or v2's inactive_file is subtracted.
func memUsage(m container.MemoryStats) float64 {
	if v, ok := m.Stats["total_inactive_file"]; ok && v < m.Usage {
		return float64(m.Usage - v)
	}
	if v := m.Stats["inactive_file"]; v < m.Usage {
		return float64(m.Usage - v)
	}
	return float64(m.Usage)
}

func blockIO(b container.BlkioStats) (read, write float64) {
	for _, e := range b.IoServiceBytesRecursive {
		switch strings.ToLower(e.Op) {
		case "read":
			read += float64(e.Value)
		case "write":
			write += float64(e.Value)
		}
	}
	return read, write
}

// newStatsRow formats a sample as docker's stats does. prev is the sample
// before it; the response's own precpu_stats are used when the agent
// filled them.
func newStatsRow(ref string, s *container.StatsResponse, prev cpuSample, trunc bool) statsRow {
	if s.PreCPUStats.SystemUsage != 0 {
		prev = cpuSample{total: s.PreCPUStats.CPUUsage.TotalUsage, system: s.PreCPUStats.SystemUsage}
	}
	mem := memUsage(s.MemoryStats)
	limit := float64(s.MemoryStats.Limit)
	memPerc := 0.0
	if limit != 0 {
		memPerc = mem / limit * 100
	}
	var rx, tx float64
	for _, n := range s.Networks {
		rx += float64(n.RxBytes)
		tx += float64(n.TxBytes)
	}
	r, w := blockIO(s.BlkioStats)
	id := s.ID
	if trunc {
		id = truncID(id)
	}
	return statsRow{
		Container: ref,
		ID:        id,
		Name:      strings.TrimPrefix(s.Name, "/"),
		CPUPerc:   fmt.Sprintf("%.2f%%", cpuPercent(prev, s)),
		MemUsage:  units.BytesSize(mem) + " / " + units.BytesSize(limit),
		MemPerc:   fmt.Sprintf("%.2f%%", memPerc),
		NetIO:     units.HumanSizeWithPrecision(rx, 3) + " / " + units.HumanSizeWithPrecision(tx, 3),
		BlockIO:   units.HumanSizeWithPrecision(r, 3) + " / " + units.HumanSizeWithPrecision(w, 3),
		PIDs:      fmt.Sprintf("%d", s.PidsStats.Current),
	}
}

// emptyStatsRow is shown for a container with no sample yet.
func emptyStatsRow(ref string, trunc bool) statsRow {
	id := ref
	if trunc {
		id = truncID(id)
	}
	return statsRow{
		Container: ref, ID: id, Name: "--", CPUPerc: "0.00%", MemUsage: "0B / 0B", MemPerc: "0.00%",
		NetIO: "0B / 0B", BlockIO: "0B / 0B", PIDs: "0",
	}
}
