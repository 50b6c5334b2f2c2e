package container

import "time"

// Stats is a snapshot of a container's resource usage from its cgroup,
// with what `docker stats` needs to compute percentages.
type Stats struct {
	Read time.Time
	// CPUUsage is the container's total CPU time (ns); SystemUsage the
	// machine's (ns, from /proc/stat); OnlineCPUs the CPU count.
	CPUUsage    uint64
	SystemUsage uint64
	OnlineCPUs  uint32
	// MemoryUsage excludes the inactive file cache, as docker shows it.
	MemoryUsage uint64
	MemoryLimit uint64
	PidsCurrent uint64
	PidsLimit   uint64 // 0 = unlimited
	BlkioRead   uint64 // bytes
	BlkioWrite  uint64 // bytes
}

// TopResult is `docker top`'s table.
type TopResult struct {
	Titles    []string
	Processes [][]string
}
