//go:build linux

// Command berth-agent is berth's container engine: it serves the agent API
// (proto/agent/v1) on a unix socket (native driver) or a vsock port (in a VM).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/containerd/log"

	"github.com/berth-dev/berth/guest/agent"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	runAsDockerInit()
	if runAsInit() {
		return
	}
	if handled, code := hiddenMode(); handled {
		os.Exit(code)
	}
	var (
		opts      agent.Options
		socket    string
		vsockPort uint
		logLevel  string
		insecure  listFlag
	)
	flag.StringVar(&opts.DataDir, "data-dir", "/var/lib/berth", "directory holding all engine state")
	flag.StringVar(&opts.Name, "name", "", "name reported by info (the machine's name)")
	flag.StringVar(&socket, "socket", "", "serve on this unix socket")
	flag.UintVar(&vsockPort, "vsock-port", 0, "serve on this vsock port (accepting only the host)")
	flag.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	flag.BoolVar(&opts.StopContainersOnExit, "stop-containers-on-exit", false, "stop running containers when exiting (the VM's engine; set by init)")
	flag.BoolVar(&opts.AutoTrim, "auto-trim", false, "trim the data disk after deletions and hourly (the VM's engine; set by init)")
	flag.StringVar(&opts.NetworkID, "network-id", "", "name this engine's default bridge and nftables table berth-`ID` (up to 8 of [a-z0-9]) so that several engines share a host")
	flag.Var(&insecure, "insecure-registry", "registry that may be reached over plain HTTP (repeatable)")
	flag.Parse()
	opts.InsecureRegistries = insecure
	opts.InitPath = initPath()

	if err := log.SetLevel(logLevel); err != nil {
		fmt.Fprintf(os.Stderr, "berth-agent: bad --log-level %q: %v\n", logLevel, err)
		os.Exit(2)
	}
	if !validNetworkID(opts.NetworkID) {
		fmt.Fprintf(os.Stderr, "berth-agent: bad --network-id %q: use 1 to 8 lowercase letters or digits\n", opts.NetworkID)
		os.Exit(2)
	}
	if socket == "" && vsockPort == 0 {
		fmt.Fprintln(os.Stderr, "berth-agent: give --socket PATH or --vsock-port N")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := agent.Run(ctx, opts, agent.Listen{Socket: socket, VsockPort: uint32(vsockPort)}); err != nil {
		fmt.Fprintf(os.Stderr, "berth-agent: %v\n", err)
		os.Exit(1)
	}
}

// validNetworkID accepts "" or 1 to 8 of [a-z0-9] (an interface name is at
// most 15 bytes: "berth-" + 8 fits).
func validNetworkID(id string) bool {
	if len(id) > 8 {
		return false
	}
	for _, c := range id {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
