package container

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/errdefs"
)

// Stats reads the container's resource usage from its cgroup (v1 or v2).
func (c *Container) Stats(ctx context.Context) (Stats, error) {
	if !c.running(ctx) {
		return Stats{}, fmt.Errorf("container %s is not running: %w", c.id, errdefs.ErrConflict)
	}
	cg, v2 := CgroupsPath(c.id), cgroupV2()
	s := Stats{Read: time.Now().UTC(), SystemUsage: systemCPUUsage(), OnlineCPUs: uint32(runtime.NumCPU())}
	if v2 {
		usec, _ := readKeyed(cgroupFile(true, "", cg, "cpu.stat"), "usage_usec")
		s.CPUUsage = usec * 1000
		s.MemoryUsage, _ = readUint(cgroupFile(true, "", cg, "memory.current"))
		s.MemoryLimit, _ = readUint(cgroupFile(true, "", cg, "memory.max"))
		inactive, _ := readKeyed(cgroupFile(true, "", cg, "memory.stat"), "inactive_file")
		s.MemoryUsage -= min(inactive, s.MemoryUsage)
		s.BlkioRead, s.BlkioWrite = ioStatV2(cgroupFile(true, "", cg, "io.stat"))
	} else {
		s.CPUUsage, _ = readUint(cgroupFile(false, "cpuacct", cg, "cpuacct.usage"))
		s.MemoryUsage, _ = readUint(cgroupFile(false, "memory", cg, "memory.usage_in_bytes"))
		s.MemoryLimit, _ = readUint(cgroupFile(false, "memory", cg, "memory.limit_in_bytes"))
		inactive, _ := readKeyed(cgroupFile(false, "memory", cg, "memory.stat"), "total_inactive_file")
		s.MemoryUsage -= min(inactive, s.MemoryUsage)
		s.BlkioRead, s.BlkioWrite = blkioV1(cgroupFile(false, "blkio", cg, "blkio.throttle.io_service_bytes"))
	}
	if total := memTotal(); s.MemoryLimit == 0 || s.MemoryLimit > total {
		s.MemoryLimit = total
	}
	s.PidsCurrent, _ = readUint(cgroupFile(v2, "pids", cg, "pids.current"))
	s.PidsLimit, _ = readUint(cgroupFile(v2, "pids", cg, "pids.max"))
	return s, nil
}

func ioStatV2(path string) (r, w uint64) {
	b, _ := os.ReadFile(path)
	for _, line := range strings.Split(string(b), "\n") {
		for _, f := range strings.Fields(line) {
			k, v, _ := strings.Cut(f, "=")
			n, _ := strconv.ParseUint(v, 10, 64)
			switch k {
			case "rbytes":
				r += n
			case "wbytes":
				w += n
			}
		}
	}
	return r, w
}

func blkioV1(path string) (r, w uint64) {
	b, _ := os.ReadFile(path)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		n, _ := strconv.ParseUint(f[2], 10, 64)
		switch f[1] {
		case "Read":
			r += n
		case "Write":
			w += n
		}
	}
	return r, w
}

// systemCPUUsage is the machine's CPU time in ns (docker's system_cpu_usage).
func systemCPUUsage() uint64 {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 8 || fields[0] != "cpu" {
			continue
		}
		var ticks uint64
		for _, x := range fields[1:8] {
			n, _ := strconv.ParseUint(x, 10, 64)
			ticks += n
		}
		return ticks * (1e9 / 100) // USER_HZ is 100 on Linux
	}
	return 0
}

func memTotal() uint64 {
	var n uint64
	b, _ := os.ReadFile("/proc/meminfo")
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
			n, _ = strconv.ParseUint(f[1], 10, 64)
		}
	}
	return n * 1024
}

// Pids lists the processes of the container (from its cgroup).
func (c *Container) Pids(ctx context.Context) ([]int, error) {
	if !c.running(ctx) {
		return nil, fmt.Errorf("container %s is not running: %w", c.id, errdefs.ErrConflict)
	}
	cg, v2 := CgroupsPath(c.id), cgroupV2()
	b, err := os.ReadFile(cgroupFile(v2, "pids", cg, "cgroup.procs"))
	if err != nil {
		return nil, fmt.Errorf("container %s: list processes: %w", c.id, err)
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			pids = append(pids, n)
		}
	}
	return pids, nil
}

// Top lists the container's processes like `docker top` (ps -ef columns).
func (c *Container) Top(ctx context.Context) (TopResult, error) {
	pids, err := c.Pids(ctx)
	if err != nil {
		return TopResult{}, err
	}
	res := TopResult{Titles: []string{"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"}}
	for _, pid := range pids {
		if row, ok := psRow(pid); ok {
			res.Processes = append(res.Processes, row)
		}
	}
	return res, nil
}

func psRow(pid int) ([]string, bool) {
	p := "/proc/" + strconv.Itoa(pid)
	stat, err := os.ReadFile(p + "/stat")
	if err != nil {
		return nil, false
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return nil, false
	}
	utime, _ := strconv.ParseUint(f[11], 10, 64)
	stime, _ := strconv.ParseUint(f[12], 10, 64)
	secs := (utime + stime) / 100
	cmd, _ := os.ReadFile(p + "/cmdline")
	cmdline := strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " "))
	if cmdline == "" {
		cmdline = "[" + s[strings.IndexByte(s, '(')+1:i] + "]"
	}
	var uid uint64
	if b, err := os.ReadFile(p + "/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if fl := strings.Fields(line); len(fl) > 1 && fl[0] == "Uid:" {
				uid, _ = strconv.ParseUint(fl[1], 10, 64)
			}
		}
	}
	tm := fmt.Sprintf("%02d:%02d:%02d", secs/3600, secs/60%60, secs%60)
	return []string{strconv.FormatUint(uid, 10), strconv.Itoa(pid), f[1], "0", "?", "?", tm, cmdline}, true
}

// Logs reads the container's json-file log; with opts.Follow it keeps
// reading until the container stops (or ctx ends).
func (c *Container) Logs(ctx context.Context, opts LogsOptions, fn func(LogEntry) error) error {
	if opts.Follow && opts.Done == nil {
		done := make(chan struct{})
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			defer close(done)
			if c.running(wctx) {
				c.Wait(wctx) //nolint:errcheck // only the end matters
			}
		}()
		opts.Done = done
	}
	return ReadLogs(ctx, c.LogPath(), c.cfg.Log.MaxFile, opts, fn)
}
