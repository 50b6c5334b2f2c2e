// Command benchvm measures berth's VM (issue 6): `benchvm boot` times
// machine starts and their phases, the idle cost of a machine and a
// container run through the VM against the native driver; `benchvm disk`
// measures how much of a removed image's space the VM's disk file gives
// back to the host. scripts/bench-boot and scripts/bench-disk run it.
// Everything runs with a private BERTH_HOME that is removed at the end,
// every machine stopped and every qemu it started killed, also on Ctrl-C.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"
)

func main() {
	if len(os.Args) < 2 || (os.Args[1] != "boot" && os.Args[1] != "disk") {
		fmt.Fprintln(os.Stderr, "usage: benchvm boot|disk [flags]  (-h for the flags)")
		os.Exit(2)
	}
	o, err := parseArgs(os.Args[1], os.Args[2:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchvm:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "benchvm:", err)
		os.Exit(1)
	}
}

// options are the benchmark's settings.
type options struct {
	mode     string
	runs     int    // boot: timed starts (medians)
	warmup   int    // boot: untimed starts first (the first formats the disk)
	idle     int    // boot: seconds of idle CPU measurement
	runRuns  int    // boot: `berth run --rm` per driver
	sizeMB   int    // disk: image size
	image    string // VM image dir; empty: build one
	cpus     string
	memory   string
	keepTemp bool
}

func parseArgs(mode string, args []string, w io.Writer) (options, error) {
	o := options{mode: mode}
	fs := flag.NewFlagSet("benchvm "+mode, flag.ContinueOnError)
	fs.SetOutput(w)
	fs.StringVar(&o.image, "image", "", "VM image dir (berth-vmimage build --out DIR); empty: build one from this tree")
	fs.StringVar(&o.cpus, "cpus", "2", "machine CPUs")
	fs.StringVar(&o.memory, "memory", "1GiB", "machine memory")
	fs.BoolVar(&o.keepTemp, "keep", false, "keep the temp dir (BERTH_HOME, logs) for inspection")
	if mode == "boot" {
		fs.IntVar(&o.runs, "n", 5, "timed machine starts (medians are shown)")
		fs.IntVar(&o.warmup, "warmup", 1, "untimed starts first (the first one formats the data disk)")
		fs.IntVar(&o.idle, "idle", 60, "seconds over which the idle CPU of qemu is measured")
		fs.IntVar(&o.runRuns, "run-n", 5, "`berth run --rm IMG true` per driver (VM and native)")
	} else {
		fs.IntVar(&o.sizeMB, "size", 100, "size of the removed image, MiB (incompressible data)")
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q (settings are flags; see -h)", fs.Arg(0))
	case mode == "boot" && (o.runs < 1 || o.warmup < 0 || o.idle < 1 || o.runRuns < 0):
		return o, errors.New("-n and -idle must be at least 1, -warmup and -run-n not negative")
	case mode == "disk" && o.sizeMB < 1:
		return o, errors.New("-size must be at least 1 MiB")
	case runtime.GOOS != "linux":
		return o, errors.New("runs on Linux only (qemu driver, /proc)")
	case os.Getuid() != 0:
		return o, errors.New("run as root: the native machine and qemu's data need it")
	}
	return o, nil
}
