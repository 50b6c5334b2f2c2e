//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// bootRun is one timed machine start.
type bootRun struct {
	total  time.Duration // `berth machine start` until it returned (agent ready)
	kernel time.Duration // guest uptime when /init started
	init   time.Duration // /init start until the agent accepted connections
	vmm    time.Duration // total minus the guest's uptime at agent serving
	stop   time.Duration // `berth machine stop`
}

// milestone lines guest/init writes on the console.
var (
	initStartRE = regexp.MustCompile(`berth-init: start uptime=([0-9.]+)s`)
	servingRE   = regexp.MustCompile(`berth-init: agent serving uptime=([0-9.]+)s`)
)

// milestones reads the uptimes of /init's start and of the agent serving
// from the console log written after offset (the first of each: this
// boot's).
func milestones(path string, offset int64) (initAt, servingAt time.Duration, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	if _, err := f.Seek(offset, 0); err != nil {
		return 0, 0, err
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if m := initStartRE.FindStringSubmatch(sc.Text()); m != nil && initAt == 0 {
			initAt = seconds(m[1])
		}
		if m := servingRE.FindStringSubmatch(sc.Text()); m != nil && servingAt == 0 {
			servingAt = seconds(m[1])
		}
	}
	if initAt == 0 || servingAt == 0 {
		return 0, 0, fmt.Errorf("%s: no 'berth-init: start' or 'agent serving' line after byte %d", path, offset)
	}
	return initAt, servingAt, sc.Err()
}

func seconds(s string) time.Duration {
	f, _ := strconv.ParseFloat(s, 64)
	return time.Duration(f * float64(time.Second))
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// timeStart starts machine m once and splits the time into its phases.
func (e *env) timeStart(ctx context.Context, m string) (bootRun, error) {
	console := filepath.Join(e.machineDir(m), "console.log")
	off := fileSize(console)
	start := time.Now()
	if _, err := e.must(ctx, "machine", "start", m); err != nil {
		return bootRun{}, err
	}
	r := bootRun{total: time.Since(start)}
	if fileSize(console) < off {
		off = 0 // the driver started a new log
	}
	initAt, servingAt, err := milestones(console, off)
	if err != nil {
		return r, err
	}
	r.kernel, r.init, r.vmm = initAt, servingAt-initAt, r.total-servingAt
	return r, nil
}

func benchBoot(ctx context.Context, e *env, o options) error {
	const m = "bench"
	if err := e.initMachine(ctx, m, "qemu", "8GiB"); err != nil {
		return err
	}
	var runs []bootRun
	for i := 0; i < o.warmup+o.runs; i++ {
		r, err := e.timeStart(ctx, m)
		if err != nil {
			return err
		}
		if i == o.warmup+o.runs-1 {
			runs = append(runs, r) // the last start stays up for the idle figures
			break
		}
		t := time.Now()
		if _, err := e.must(ctx, "machine", "stop", m); err != nil {
			return err
		}
		r.stop = time.Since(t)
		if i >= o.warmup {
			runs = append(runs, r)
		}
		say("start %d: %s", i+1, fmtRun(r))
	}
	printBoot(runs)
	if err := e.idleFigures(ctx, m, o.idle); err != nil {
		return err
	}
	if o.runRuns > 0 {
		return e.runVsNative(ctx, m, o.runRuns)
	}
	return nil
}

func fmtRun(r bootRun) string {
	return fmt.Sprintf("total %s = VMM+firmware %s + kernel %s + /init to agent %s; stop %s",
		ms(r.total), ms(r.vmm), ms(r.kernel), ms(r.init), ms(r.stop))
}

func printBoot(runs []bootRun) {
	pick := func(f func(bootRun) time.Duration) time.Duration {
		var ds []time.Duration
		for _, r := range runs {
			if d := f(r); d > 0 {
				ds = append(ds, d)
			}
		}
		return median(ds)
	}
	fmt.Printf("machine start (qemu), median of %d:\n", len(runs))
	fmt.Printf("  berth machine start -> agent ready  %8s\n", ms(pick(func(r bootRun) time.Duration { return r.total })))
	fmt.Printf("    VMM start + firmware + host side  %8s\n", ms(pick(func(r bootRun) time.Duration { return r.vmm })))
	fmt.Printf("    kernel until /init                %8s\n", ms(pick(func(r bootRun) time.Duration { return r.kernel })))
	fmt.Printf("    /init until the agent serves      %8s\n", ms(pick(func(r bootRun) time.Duration { return r.init })))
	fmt.Printf("  berth machine stop                  %8s\n", ms(pick(func(r bootRun) time.Duration { return r.stop })))
}

func ms(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return d.Round(time.Millisecond).String()
}

func trimLines(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
