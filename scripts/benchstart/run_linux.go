package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"golang.org/x/sys/unix"
)

// run is the whole benchmark; everything it made is removed before it
// returns.
func run(ctx context.Context, o options, w io.Writer) (err error) {
	if os.Geteuid() != 0 {
		return errors.New("run as root (sudo scripts/bench-start): berth's native machine, crun and dockerd need root")
	}
	b := &bench{o: o, w: w}
	if err := b.checkBinaries(); err != nil {
		return err
	}
	if b.work, err = os.MkdirTemp("", "bench-start-"); err != nil {
		return err
	}
	b.onCleanup("remove "+b.work, func(context.Context) error { return os.RemoveAll(b.work) })
	defer func() {
		if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "bench-start: interrupted; cleaning up...")
		}
		b.cleanup()
	}()
	defer func() {
		if ctx.Err() != nil {
			err = fmt.Errorf("interrupted: %w", ctx.Err())
		}
	}()
	b.home = filepath.Join(b.work, "home")
	b.env = append(withoutEnv(os.Environ(), "BERTH_MACHINE", "BERTH_HOME"), "BERTH_HOME="+b.home)
	if err := b.prepareImage(ctx); err != nil {
		return err
	}
	fmt.Fprintf(w, "berth %s, image %s, BERTH_HOME %s\n", b.berth, b.image, b.home)
	fmt.Fprintf(w, "host: %s\n", hostInfo(ctx, b.o.crun))
	if err := b.startMachine(ctx); err != nil {
		return err
	}
	if o.compare != "" {
		if err := b.startCompare(ctx); err != nil {
			return err
		}
	}
	dk, why, err := b.setupDocker(ctx)
	if err != nil {
		return err
	}
	if b.docker = dk; dk != nil {
		fmt.Fprintf(w, "docker: %s\n", dk.note)
	} else {
		fmt.Fprintf(w, "docker: not measured: %s\n", why)
	}
	if o.phases["start"] {
		if err := b.startPhase(ctx); err != nil {
			return err
		}
	}
	if o.phases["concurrent"] && o.concurrent > 0 {
		if err := b.concurrentPhase(ctx); err != nil {
			return err
		}
	}
	if o.phases["ps"] && o.psContainers > 0 {
		if err := b.psPhase(ctx); err != nil {
			return err
		}
	}
	return b.timeRemoveAll(ctx)
}

// prepareImage builds the demo image (scripts/demoimage, offline) unless
// -image names a tarball, and reads the image's name from it.
func (b *bench) prepareImage(ctx context.Context) error {
	b.tar = b.o.image
	if b.tar == "" {
		b.tar = filepath.Join(b.work, "image.tar")
		if _, err := output(ctx, nil, "go", "run", "./scripts/demoimage", "-o", b.tar); err != nil {
			return fmt.Errorf("build the demo image (run from the repository root): %w", err)
		}
	}
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(b.tar) })
	if err != nil {
		return fmt.Errorf("image %s: %w", b.tar, err)
	}
	if len(m) == 0 || len(m[0].RepoTags) == 0 {
		return fmt.Errorf("image %s: no tagged image in the archive (docker save NAME:TAG makes one)", b.tar)
	}
	b.image = m[0].RepoTags[0]
	return nil
}

// path is one way of running `true` in a container, timed.
type path struct {
	name string
	run  func(ctx context.Context) (time.Duration, error)
}

// startPhase times the start paths, interleaved round by round so that
// drift on the machine affects all alike.
func (b *bench) startPhase(ctx context.Context) error {
	bundle := filepath.Join(b.work, "bundle")
	notes, err := b.prepareBundle(ctx, bundle)
	if err != nil {
		return fmt.Errorf("bare crun bundle: %w", err)
	}
	crun, err := newBareCrun(b.o.crun, filepath.Join(b.work, "crun"), bundle)
	if err != nil {
		return err
	}
	b.onCleanup("crun delete", crun.stop)
	fmt.Fprintf(b.w, "bare crun bundle: %s\n", strings.Join(notes, "; "))

	berthRun := func(args ...string) func(ctx context.Context) (time.Duration, error) {
		return func(ctx context.Context) (time.Duration, error) {
			return timed(ctx, b.env, b.berth, append(append([]string{"run", "--rm"}, args...), b.image, "true")...)
		}
	}
	paths := []path{
		{"berth run --rm --network none", berthRun("--network", "none")},
		{"berth run --rm (bridge)", berthRun()},
		{"crun run (bare, same spec)", crun.run},
	}
	if dk := b.docker; dk != nil {
		dockerRun := func(args ...string) func(ctx context.Context) (time.Duration, error) {
			return func(ctx context.Context) (time.Duration, error) {
				return timed(ctx, dk.env, "docker", append(append([]string{"run", "--rm"}, args...), b.image, "true")...)
			}
		}
		paths = append(paths, path{"docker run --rm --network none", dockerRun("--network", "none")},
			path{"docker run --rm (bridge)", dockerRun()})
	}
	nPaths := len(paths)
	paths = append(paths, b.comparePaths()...)
	res, err := b.measure(ctx, paths)
	if err != nil {
		return err
	}
	fmt.Fprintf(b.w, "\nstart of `true`, %d runs per path (after %d warm-up runs), interleaved:\n", b.o.runs, b.o.warmup)
	printTable(b.w, res)
	med := func(i int) time.Duration {
		if i < len(res) {
			return median(res[i].d)
		}
		return 0
	}
	fmt.Fprintln(b.w, "\nmedian ratios:")
	dockerMed := func(i int) time.Duration { // docker's paths come before -compare's
		if i < nPaths {
			return med(i)
		}
		return 0
	}
	printGoals(b.w, startGoals(med(0), med(1), med(2), dockerMed(3), dockerMed(4)))
	if b.cmp != nil {
		printGoals(b.w, compareGoals(med(0), med(1), med(nPaths), med(nPaths+1)))
	}
	return nil
}

// measure runs warm-ups, then b.o.runs rounds of every path.
func (b *bench) measure(ctx context.Context, paths []path) ([]series, error) {
	res := make([]series, len(paths))
	for i, p := range paths {
		res[i].name = p.name
		for j := 0; j < b.o.warmup; j++ {
			if _, err := p.run(ctx); err != nil {
				return nil, fmt.Errorf("%s (warm-up): %w", p.name, err)
			}
		}
	}
	for r := 0; r < b.o.runs; r++ {
		for i, p := range paths {
			d, err := p.run(ctx)
			if err != nil {
				return nil, fmt.Errorf("%s (run %d): %w", p.name, r+1, err)
			}
			res[i].d = append(res[i].d, d)
		}
		progress("round %d/%d", r+1, b.o.runs)
	}
	progress("")
	return res, nil
}

// progress shows a status line on stderr when it is a terminal; an empty
// format clears it.
func progress(format string, args ...any) {
	if _, err := unix.IoctlGetTermios(int(os.Stderr.Fd()), unix.TCGETS); err != nil {
		return
	}
	fmt.Fprintf(os.Stderr, "\r\033[K"+format, args...)
}

// startDetached starts n containers running sleep at the same time with
// `run -d` (default bridge network) of berth, or of docker when dk is set,
// and returns the wall time until the last `run -d` returned.
func (b *bench) startDetached(ctx context.Context, dk *docker, first, n int) (time.Duration, error) {
	var wg sync.WaitGroup
	errs := make([]error, n)
	gate := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			args := []string{"run", "-d", "--label", benchLabel, "--name", fmt.Sprintf("benchstart-%d", first+i), b.image, "sleep", "86400"}
			if dk != nil {
				_, errs[i] = output(ctx, dk.env, "docker", args...)
			} else {
				_, errs[i] = b.berthOut(ctx, args...)
			}
		}()
	}
	t0 := time.Now()
	close(gate)
	wg.Wait()
	d := time.Since(t0)
	return d, firstOf(errs)
}

// firstOf returns the first error of errs, saying how many failed.
func firstOf(errs []error) error {
	var first error
	n := 0
	for _, err := range errs {
		if err != nil {
			n++
			first = cmp.Or(first, err)
		}
	}
	if n > 1 {
		return fmt.Errorf("%d of %d failed; the first: %w", n, len(errs), first)
	}
	return first
}

// concurrentPhase starts o.concurrent containers at once, with berth and
// (when reachable) with docker.
func (b *bench) concurrentPhase(ctx context.Context) error {
	d, err := b.startDetached(ctx, nil, 0, b.o.concurrent)
	if err != nil {
		return fmt.Errorf("concurrent berth run -d: %w", err)
	}
	n, err := b.running(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(b.w, "\n%d containers started concurrently with `run -d` (bridge), until the last returned:\n", b.o.concurrent)
	fmt.Fprintf(b.w, "berth   %s (%s per container); %d running\n", fmtDur(d), fmtDur(d/time.Duration(b.o.concurrent)), n)
	if n < b.o.concurrent {
		return fmt.Errorf("only %d of %d containers are running after `berth run -d`", n, b.o.concurrent)
	}
	if b.docker == nil {
		return nil
	}
	b.onCleanup("docker rm -f", b.dockerRemoveAll)
	dd, err := b.startDetached(ctx, b.docker, 0, b.o.concurrent)
	if err != nil {
		return fmt.Errorf("concurrent docker run -d: %w", err)
	}
	fmt.Fprintf(b.w, "docker  %s (%s per container); docker/berth %s\n", fmtDur(dd), fmtDur(dd/time.Duration(b.o.concurrent)), ratio(dd, d))
	return b.dockerRemoveAll(ctx)
}

// running counts the running containers.
func (b *bench) running(ctx context.Context) (int, error) {
	out, err := b.berthOut(ctx, "ps", "-q")
	return len(strings.Fields(out)), err
}

// psPhase brings the running containers to o.psContainers and times
// `berth ps`.
func (b *bench) psPhase(ctx context.Context) error {
	n, err := b.running(ctx)
	if err != nil {
		return err
	}
	if n < b.o.psContainers {
		if _, err := b.startDetached(ctx, nil, 1000, b.o.psContainers-n); err != nil {
			return fmt.Errorf("containers for berth ps: %w", err)
		}
	}
	if n, err = b.running(ctx); err != nil {
		return err
	}
	ps, err := b.timeBerth(ctx, "ps")
	if err != nil {
		return err
	}
	version, err := b.timeBerth(ctx, "version")
	if err != nil {
		return err
	}
	fmt.Fprintf(b.w, "\n`berth ps` with %d running containers, %d runs (`berth version`: the CLI's own start and one call to the agent):\n", n, len(ps))
	printTable(b.w, []series{{"berth ps", ps}, {"berth version", version}})
	m := median(ps)
	printGoals(b.w, []goal{{"berth ps median", fmtDur(m), "< 50 ms", verdict(true, m < 50*time.Millisecond)}})
	return nil
}

// timeBerth times o.psRuns calls of a berth command, after one untimed.
func (b *bench) timeBerth(ctx context.Context, args ...string) ([]time.Duration, error) {
	var ds []time.Duration
	for i := 0; i <= b.o.psRuns; i++ {
		d, err := timed(ctx, b.env, b.berth, args...)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			ds = append(ds, d)
		}
	}
	return ds, nil
}

// timeRemoveAll removes the containers the run left running and says how
// long `berth rm -f` took.
func (b *bench) timeRemoveAll(ctx context.Context) error {
	n, err := b.running(ctx)
	if err != nil || n == 0 {
		return err
	}
	t0 := time.Now()
	if err := b.removeAll(ctx); err != nil {
		return err
	}
	fmt.Fprintf(b.w, "\nremoved %d running containers with `berth rm -f` (50 per call): %s\n", n, fmtDur(time.Since(t0)))
	return nil
}

// hostInfo describes what the figures depend on: kernel, CPUs, load,
// cgroup layout and crun's version.
func hostInfo(ctx context.Context, crun string) string {
	var parts []string
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		parts = append(parts, "kernel "+unix.ByteSliceToString(u.Release[:]))
	}
	parts = append(parts, fmt.Sprintf("%d CPUs", runtime.NumCPU()))
	if l, err := os.ReadFile("/proc/loadavg"); err == nil {
		parts = append(parts, "load "+strings.Join(strings.Fields(string(l))[:3], " "))
	}
	switch v1, v2, _ := cgroupMounts(); {
	case len(v1) > 0 && len(v2) > 0:
		parts = append(parts, "cgroup v1 (hybrid host: cgroup2 hidden from crun, as berth's shim does)")
	case len(v1) > 0:
		parts = append(parts, "cgroup v1")
	default:
		parts = append(parts, "cgroup v2")
	}
	if out, err := output(ctx, nil, crun, "--version"); err == nil {
		parts = append(parts, strings.SplitN(out, "\n", 2)[0]+", cgroupfs manager")
	}
	return strings.Join(parts, ", ")
}

// withoutEnv drops the named variables from env.
func withoutEnv(env []string, names ...string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, n := range names {
			drop = drop || k == n
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}
