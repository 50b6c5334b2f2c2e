package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// options are the benchmark's settings, from the command line.
type options struct {
	runs         int    // sequential runs per path (the median is reported)
	warmup       int    // runs per path before measuring, not counted
	concurrent   int    // containers started at once with `berth run -d`
	psContainers int    // running containers while `berth ps` is timed
	psRuns       int    // timed `berth ps` calls
	withDocker   bool   // start a private dockerd when no engine is reachable
	berth        string // the berth binary (berth-agent beside it)
	crun         string // the crun binary for the bare baseline
	image        string // a docker-archive to load instead of building the demo image
	compare      string // another berth build whose run --rm paths are timed alongside
	phases       map[string]bool
}

// allPhases are the parts of the benchmark, in the order they run.
var allPhases = []string{"start", "concurrent", "ps"}

// parseArgs reads the command line (without the program name). Help
// output goes to w; asking for help returns flag.ErrHelp.
func parseArgs(args []string, w io.Writer) (options, error) {
	o := options{}
	fs := flag.NewFlagSet("bench-start", flag.ContinueOnError)
	fs.SetOutput(w)
	fs.IntVar(&o.runs, "n", 30, "timed runs per path (median, p90 and min are shown)")
	fs.IntVar(&o.warmup, "warmup", 2, "untimed runs per path before measuring")
	fs.IntVar(&o.concurrent, "concurrent", 50, "containers started at the same time with `berth run -d` (0 skips)")
	fs.IntVar(&o.psContainers, "ps-containers", 100, "running containers while `berth ps` is timed (0 skips)")
	fs.IntVar(&o.psRuns, "ps-runs", 10, "timed `berth ps` calls")
	fs.BoolVar(&o.withDocker, "with-docker", false, "start a private dockerd (Debian's docker.io) when no Docker engine is reachable; its iptables FORWARD policy and ip_forward changes are undone afterwards")
	fs.StringVar(&o.berth, "berth", "bin/berth", "berth binary (`make build`); berth-agent must be beside it")
	fs.StringVar(&o.crun, "crun", "crun", "crun binary for the bare baseline")
	fs.StringVar(&o.compare, "compare", "", "another berth binary (berth-agent beside it; e.g. a build of the base commit) whose `run --rm` paths are timed interleaved with -berth's, in a machine of its own, with the ratios")
	fs.StringVar(&o.image, "image", "", "docker-archive tarball to benchmark instead of the demo image (must run `true` and `sleep`)")
	phases := fs.String("phases", strings.Join(allPhases, ","), "comma-separated parts to run: "+strings.Join(allPhases, ", "))
	fs.Usage = func() {
		fmt.Fprintln(w, "usage: bench-start [flags]  (root; Linux)")
		fmt.Fprintln(w, "Times `berth run --rm IMG true` against bare `crun run` of the same bundle and `docker run --rm`,")
		fmt.Fprintln(w, "concurrent `berth run -d`, and `berth ps` with many containers.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q (all settings are flags; see -h)", fs.Arg(0))
	}
	var err error
	if o.phases, err = parsePhases(*phases); err != nil {
		return o, err
	}
	return o, o.validate()
}

func (o options) validate() error {
	switch {
	case o.runs < 1:
		return fmt.Errorf("-n %d: need at least 1 run per path", o.runs)
	case o.warmup < 0:
		return fmt.Errorf("-warmup %d: must not be negative", o.warmup)
	case o.concurrent < 0:
		return fmt.Errorf("-concurrent %d: must not be negative", o.concurrent)
	case o.psContainers < 0:
		return fmt.Errorf("-ps-containers %d: must not be negative", o.psContainers)
	case o.psRuns < 1:
		return fmt.Errorf("-ps-runs %d: need at least 1 call", o.psRuns)
	case o.berth == "":
		return errors.New("-berth: empty path; build with `make build` and pass bin/berth")
	case o.crun == "":
		return errors.New("-crun: empty path")
	}
	return nil
}

// parsePhases turns "start,ps" into a set, rejecting unknown names.
func parsePhases(s string) (map[string]bool, error) {
	set := map[string]bool{}
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		known := false
		for _, a := range allPhases {
			known = known || a == p
		}
		if !known {
			return nil, fmt.Errorf("-phases: unknown part %q (known: %s)", p, strings.Join(allPhases, ", "))
		}
		set[p] = true
	}
	if len(set) == 0 {
		return nil, fmt.Errorf("-phases %q: nothing to run (known: %s)", s, strings.Join(allPhases, ", "))
	}
	return set, nil
}
