//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	ctypes "github.com/moby/moby/api/types/container"

	"github.com/berth-dev/berth/internal/machineproc"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// userHZ is the unit of utime and stime in /proc/PID/stat (USER_HZ, 100
// on every Linux architecture berth runs on).
const userHZ = 100

// procUsage is a process's resident memory and CPU time so far.
type procUsage struct {
	rssKiB int64
	cpu    time.Duration
}

func readUsage(pid int) (procUsage, error) {
	var u procUsage
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return u, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return u, fmt.Errorf("/proc/%d/stat: short", pid)
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	u.cpu = time.Duration(ut+st) * time.Second / userHZ
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return u, err
	}
	for _, l := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			u.rssKiB, _ = strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return u, nil
}

// helperPIDs are the machine's other host processes (virtiofsd, ...):
// those whose command line names the machine's dir, but not qemu.
func helperPIDs(dir string, qemu int) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, d := range ents {
		pid, err := strconv.Atoi(d.Name())
		if err != nil || pid == qemu || pid == os.Getpid() {
			continue
		}
		b, _ := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if strings.Contains(string(b), dir) && !strings.Contains(string(b), "machine\x00daemon") {
			pids = append(pids, pid)
		}
	}
	return pids
}

// idleFigures prints qemu's (and its helpers') resident memory and CPU
// over secs idle seconds, then the agent's memory inside the VM.
func (e *env) idleFigures(ctx context.Context, m string, secs int) error {
	dir := e.machineDir(m)
	qemu := machineproc.PID(filepath.Join(dir, "qemu.pid"))
	if qemu <= 1 {
		return fmt.Errorf("machine %s: no qemu pid", m)
	}
	say("letting the machine settle 10 s, then measuring %d s of idle", secs)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(10 * time.Second):
	}
	pids := append([]int{qemu}, helperPIDs(dir, qemu)...)
	before := map[int]procUsage{}
	for _, p := range pids {
		before[p], _ = readUsage(p)
	}
	start := time.Now()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Duration(secs) * time.Second):
	}
	wall := time.Since(start)
	fmt.Printf("idle machine, no containers, over %s:\n", wall.Round(time.Second))
	for i, p := range pids {
		after, err := readUsage(p)
		if err != nil {
			continue
		}
		what := "qemu"
		if i > 0 {
			comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p))
			what = "helper " + strings.TrimSpace(string(comm))
		}
		cpu := after.cpu - before[p].cpu
		fmt.Printf("  %-22s RSS %6.1f MiB  CPU %5.2f%% of a core (%s)\n", what, float64(after.rssKiB)/1024,
			100*cpu.Seconds()/wall.Seconds(), cpu)
	}
	return e.guestMemory(ctx, m)
}

// guestScript prints the agent's and init's VmRSS and the VM's memory use,
// from the VM's /proc bind-mounted at /hostproc. The agent is the child of
// init running the same binary (comm "init") with --data-dir.
const guestScript = `for d in /hostproc/[0-9]*; do
  [ "$d" = /hostproc/1 ] && continue
  [ "$(cat $d/comm 2>/dev/null)" = init ] || continue
  grep -q -e "--data-""dir" $d/cmdline 2>/dev/null && echo "agent $(grep VmRSS $d/status)"
done
echo "init $(grep VmRSS /hostproc/1/status)"
grep -E '^(MemTotal|MemAvailable):' /hostproc/meminfo`

// guestMemory runs guestScript in a container that sees the VM's /proc.
// The CLI only binds shared host folders, so the container is created
// through the agent API.
func (e *env) guestMemory(ctx context.Context, m string) error {
	if err := e.loadBusybox(ctx, m); err != nil {
		return err
	}
	cfg, _ := json.Marshal(ctypes.Config{Image: busyboxRef, Cmd: []string{"sh", "-c", guestScript}})
	hc, _ := json.Marshal(ctypes.HostConfig{Binds: []string{"/proc:/hostproc:ro"}, NetworkMode: "none"})
	cc, done, err := e.containers(m)
	if err != nil {
		return err
	}
	defer done()
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	resp, err := cc.Create(cctx, &agentv1.CreateContainerRequest{Name: "benchvm-mem", Config: cfg, HostConfig: hc})
	if err != nil {
		return fmt.Errorf("create the memory probe container: %w", err)
	}
	defer e.run(context.WithoutCancel(ctx), "--machine", m, "rm", "-f", resp.Id) //nolint:errcheck // best effort
	for _, args := range [][]string{{"start", resp.Id}, {"wait", resp.Id}} {
		if _, err := e.must(ctx, append([]string{"--machine", m}, args...)...); err != nil {
			return err
		}
	}
	out, err := e.must(ctx, "--machine", m, "logs", resp.Id)
	if err != nil {
		return err
	}
	fmt.Println("inside the VM (idle, read by a probe container):")
	for _, l := range trimLines(out) {
		fmt.Println("  " + strings.Join(strings.Fields(l), " "))
	}
	return nil
}

// runVsNative times `berth run --rm IMG true` through the VM and on a
// native machine, interleaved, n times each.
func (e *env) runVsNative(ctx context.Context, vm string, n int) error {
	const nat = "native"
	if err := e.initMachine(ctx, nat, "native", ""); err != nil {
		return err
	}
	if _, err := e.must(ctx, "machine", "start", nat); err != nil {
		return err
	}
	if err := e.loadBusybox(ctx, nat); err != nil {
		return err
	}
	times := map[string][]time.Duration{}
	for i := -1; i < n; i++ { // run -1 warms up
		for _, m := range []string{vm, nat} {
			t := time.Now()
			if _, err := e.must(ctx, "--machine", m, "run", "--rm", "--network", "none", busyboxRef, "true"); err != nil {
				return err
			}
			if i >= 0 {
				times[m] = append(times[m], time.Since(t))
			}
		}
	}
	v, nv := median(times[vm]), median(times[nat])
	fmt.Printf("berth run --rm --network none IMG true, median of %d:\n", n)
	fmt.Printf("  qemu machine  %8s\n  native        %8s   (VM/native %.1fx)\n", ms(v), ms(nv), v.Seconds()/nv.Seconds())
	return nil
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
