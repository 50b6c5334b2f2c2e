// Command benchstart is issue 4's container start benchmark (run it through
// scripts/bench-start, as root, on Linux): the median of `berth run --rm
// IMG true` with --network none and with the default bridge, against bare
// `crun run` of an equivalent bundle (made from the config.json berth
// generates, so the same namespaces, seccomp profile and cgroup manager)
// and against `docker run --rm` when a Docker engine is reachable (or
// started privately with -with-docker), all in the same run; then 50
// containers started concurrently with `berth run -d` (and `docker run -d`),
// and `berth ps` with 100 running containers. Everything it makes (a
// private BERTH_HOME and machine, containers, a private dockerd and its
// iptables changes) is removed at the end, also on failure or Ctrl-C.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	o, err := parseArgs(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-start:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = run(ctx, o, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-start:", err)
		os.Exit(1)
	}
}
