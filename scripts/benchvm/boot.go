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
	total     time.Duration // `berth machine start` until it returned (agent ready)
	kernel    time.Duration // guest uptime when /init started
	transport time.Duration // /init start until the agent's transport was up
	setup     time.Duration // /init start until disk, shares and the engine's modules were ready
	init      time.Duration // /init start until the agent (engine) accepted connections
	vmm       time.Duration // total minus the guest's uptime at agent serving
	stop      time.Duration // `berth machine stop`
}

// marks are the guest uptimes of guest/init's milestones in one boot.
// transport and setup are zero with an init that does not log them.
type marks struct {
	init, transport, setup, serving time.Duration
}

// milestone lines guest/init writes on the console.
var (
	initStartRE = regexp.MustCompile(`berth-init: start uptime=([0-9.]+)s`)
	transportRE = regexp.MustCompile(`berth-init: transport modules: .* uptime=([0-9.]+)s`)
	setupRE     = regexp.MustCompile(`berth-init: engine setup: .* uptime=([0-9.]+)s`)
	servingRE   = regexp.MustCompile(`berth-init: agent serving uptime=([0-9.]+)s`)
)

// milestones reads the uptimes of /init's milestones from the console log
// written after offset (the first of each: this boot's).
func milestones(path string, offset int64) (marks, error) {
	var mk marks
	f, err := os.Open(path)
	if err != nil {
		return mk, err
	}
	defer f.Close()
	if _, err := f.Seek(offset, 0); err != nil {
		return mk, err
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if mk.init != 0 && initStartRE.MatchString(sc.Text()) {
			break // the next boot
		}
		for _, x := range []struct {
			re *regexp.Regexp
			d  *time.Duration
		}{{initStartRE, &mk.init}, {transportRE, &mk.transport}, {setupRE, &mk.setup}, {servingRE, &mk.serving}} {
			if m := x.re.FindStringSubmatch(sc.Text()); m != nil && *x.d == 0 {
				*x.d = seconds(m[1])
			}
		}
	}
	if mk.init == 0 || mk.serving == 0 {
		return marks{}, fmt.Errorf("%s: no 'berth-init: start' or 'agent serving' line after byte %d", path, offset)
	}
	return mk, sc.Err()
}

// after is d - from, or zero when d was not logged.
func after(d, from time.Duration) time.Duration {
	if d == 0 {
		return 0
	}
	return d - from
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
	mk, err := milestones(console, off)
	if err != nil {
		return r, err
	}
	r.kernel, r.init, r.vmm = mk.init, mk.serving-mk.init, r.total-mk.serving
	r.transport, r.setup = after(mk.transport, mk.init), after(mk.setup, mk.init)
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
	return fmt.Sprintf("total %s = VMM+firmware %s + kernel %s + /init to agent %s (transport %s, setup %s); stop %s",
		ms(r.total), ms(r.vmm), ms(r.kernel), ms(r.init), ms(r.transport), ms(r.setup), ms(r.stop))
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
	fmt.Printf("      /init until the transport is up %8s  (host can connect: serial port / vsock)\n", ms(pick(func(r bootRun) time.Duration { return r.transport })))
	fmt.Printf("      /init until the engine may open %8s  (data disk, shares, engine modules)\n", ms(pick(func(r bootRun) time.Duration { return r.setup })))
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
