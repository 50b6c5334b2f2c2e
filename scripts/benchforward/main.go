//go:build linux

// Command benchforward measures berth's port-forward path against traffic
// sent directly to the container's own address, in the same run: a
// host.Forwarder listening on 127.0.0.1, forward streams over a unix socket
// (the relayed path, as a VM driver's streams) or connections handed off
// whole (the native driver's path), served by the agent's real
// ServeForward, to a server in a stand-in container (a network namespace
// behind a bridge and a veth pair, as berth0; -target loopback puts the
// server on 127.0.0.1 instead). It reports bulk throughput both ways, the
// p50/p99 round trip of small request/responses on one connection, and the
// cost of a new connection, with the ratios to direct.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/guest/agent"
	"github.com/berth-dev/berth/host/forward"
	"github.com/berth-dev/berth/proto/stream"
)

// options are the command's flags.
type options struct {
	size                           int64
	n, conns, msg, rounds          int
	dirs                           []string
	target, serve, direct, publish string
	machineDir                     string
}

// external returns the paths of a real machine (-direct and -published),
// or nil to measure the in-process paths.
func (o options) external() []path {
	if o.direct == "" {
		return nil
	}
	return []path{{"direct", o.direct}, {"published", o.publish}}
}

func main() {
	var o options
	var dirs string
	flag.Int64Var(&o.size, "size", 1<<30, "bytes per throughput run")
	flag.IntVar(&o.n, "n", 10000, "request/responses for the round-trip run")
	flag.IntVar(&o.conns, "conns", 1000, "connections for the connect run")
	flag.IntVar(&o.msg, "msg", 64, "bytes per request and per response")
	flag.IntVar(&o.rounds, "rounds", 3, "throughput runs per path and direction (the median is shown)")
	flag.StringVar(&dirs, "dirs", "up,down", "throughput directions to run: up (host to container), down, or both")
	flag.StringVar(&o.target, "target", "container", "where the in-process server runs: container (a network namespace behind a bridge, needs root) or loopback (127.0.0.1)")
	flag.StringVar(&o.serve, "serve", "", "only serve the benchmark protocol on this address (to run in a real container)")
	flag.StringVar(&o.direct, "direct", "", "measure a real machine: the container's own address of a -serve server (host:port); needs -published")
	flag.StringVar(&o.publish, "published", "", "measure a real machine: the published host address of the same server")
	flag.StringVar(&o.machineDir, "machine-dir", "", "with -published: the machine's dir (<BERTH_HOME>/machines/<name>), to print its daemon's memory before (idle) and after the runs")
	flag.Parse()
	o.dirs = strings.Split(dirs, ",")
	if o.size <= 0 || o.n <= 0 || o.conns <= 0 || o.msg <= 0 || o.rounds <= 0 {
		fail(2, "-size, -n, -conns, -msg and -rounds must be positive")
	}
	if o.target != "container" && o.target != "loopback" {
		fail(2, "-target must be container or loopback")
	}
	if (o.direct == "") != (o.publish == "") {
		fail(2, "-direct and -published go together")
	}
	if o.serve != "" {
		ln, err := net.Listen("tcp", o.serve)
		if err != nil {
			fail(1, err.Error())
		}
		if _, err := startServer(ln, o.msg); err != nil {
			fail(1, err.Error())
		}
		select {}
	}
	fmt.Println("berth port-forward benchmark")
	if o.machineDir != "" {
		if err := printDaemonRSS(o.machineDir, "idle"); err != nil {
			fail(1, err.Error())
		}
	}
	if err := run(o); err != nil {
		fail(1, err.Error())
	}
	if o.machineDir != "" {
		if err := printDaemonRSS(o.machineDir, "after the runs"); err != nil {
			fail(1, err.Error())
		}
	}
}

func fail(code int, msg string) {
	fmt.Fprintln(os.Stderr, "benchforward:", msg)
	os.Exit(code)
}

// resolver sends every container to one address.
type resolver struct{ ip string }

func (r resolver) ForwardAddr(_, _ string, port uint16) (string, error) {
	return net.JoinHostPort(r.ip, strconv.Itoa(int(port))), nil
}

// startPath starts the agent side on a unix socket and a Forwarder that
// publishes bindings for one container; it returns what was bound and a
// cleanup.
func startPath(targetIP string, bindings []forward.Binding, handoff bool) ([]forward.Forward, func(), error) {
	dir, err := os.MkdirTemp("", "benchforward")
	if err != nil {
		return nil, nil, err
	}
	sock := filepath.Join(dir, "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				h, err := stream.Read(c)
				if err != nil || h.Kind != stream.KindForward {
					c.Close()
					return
				}
				agent.ServeForward(ctx, resolver{targetIP}, h.ID, c)
			}()
		}
	}()
	dialAgent := func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}
	var opts []forward.Option
	if handoff {
		opts = append(opts, forward.WithHandoff(forward.UnixHandoff(dialAgent)))
	}
	f := forward.New(forward.StreamDialer(dialAgent), opts...)
	fws, err := f.Add(ctx, "bench", bindings)
	cleanup := func() { f.Close(); cancel(); ln.Close(); os.RemoveAll(dir) }
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return fws, cleanup, nil
}

// pathSetup publishes port of targetIP on 127.0.0.1, relayed over forward
// streams or handed off, and returns the host address.
func pathSetup(targetIP string, port uint16, handoff bool) (string, func(), error) {
	fws, cleanup, err := startPath(targetIP, []forward.Binding{{Proto: forward.TCP, HostIP: netip.MustParseAddr("127.0.0.1"), ContainerPort: port}}, handoff)
	if err != nil {
		return "", nil, err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(int(fws[0].HostPort))), cleanup, nil
}

// startTarget starts the server in a stand-in container or on 127.0.0.1
// and returns it with its IP.
func startTarget(target string, msg int) (*server, string, func(), error) {
	if target == "loopback" {
		srv, err := startServer(nil, msg)
		if err != nil {
			return nil, "", nil, err
		}
		return srv, "127.0.0.1", func() { srv.Close() }, nil
	}
	cn, err := newContainerNet()
	if err != nil {
		return nil, "", nil, err
	}
	ln, err := cn.listen()
	if err != nil {
		cn.Close()
		return nil, "", nil, err
	}
	srv, err := startServer(ln, msg)
	if err != nil {
		ln.Close()
		cn.Close()
		return nil, "", nil, err
	}
	return srv, cn.addr.String(), func() { srv.Close(); cn.Close() }, nil
}

// path is one way to the server.
type path struct{ name, addr string }

func run(o options) error {
	paths := o.external()
	if paths == nil {
		srv, ip, stop, err := startTarget(o.target, o.msg)
		if err != nil {
			return err
		}
		defer stop()
		fwdAddr, cleanup, err := pathSetup(ip, srv.port, false)
		if err != nil {
			return err
		}
		defer cleanup()
		hoAddr, cleanup2, err := pathSetup(ip, srv.port, true)
		if err != nil {
			return err
		}
		defer cleanup2()
		paths = []path{{"direct", net.JoinHostPort(ip, strconv.Itoa(int(srv.port)))}, {"forwarded", fwdAddr}, {"handed off", hoAddr}}
		fmt.Printf("direct: to the server at %s; forwarded: relayed over a forward stream (as VM drivers);\n"+
			"handed off: the native driver's path (the agent relays the accepted socket itself)\n", paths[0].addr)
	}
	fmt.Printf("%s per throughput run (median of %d), %d round trips of %d bytes, %d connects;\n"+
		"the paths take turns so that all see the same machine load\n", human(o.size), o.rounds, o.n, o.msg, o.conns)
	fmt.Printf("%-28s", "")
	for i, p := range paths {
		fmt.Printf(" %14s", p.name)
		if i > 0 {
			fmt.Printf(" %7s", "ratio")
		}
	}
	fmt.Println()
	return measureAll(o, paths)
}

func measureAll(o options, paths []path) error {
	for _, dir := range o.dirs {
		if dir != "up" && dir != "down" {
			return fmt.Errorf("unknown direction %q (want up or down)", dir)
		}
		mbps, cpu := make([][]float64, len(paths)), make([][]float64, len(paths))
		for range o.rounds {
			for i, p := range paths {
				v, c, err := throughput(p.addr, dir, o.size)
				if err != nil {
					return fmt.Errorf("%s %s: %w", p.name, dir, err)
				}
				mbps[i], cpu[i] = append(mbps[i], v), append(cpu[i], c)
			}
		}
		printRow(label(dir), "MB/s", "%11.0f", medians(mbps))
		if o.external() == nil {
			printRow("  CPU time, all actors", "s", "%13.2f", medians(cpu))
		}
	}
	rt, err := alternate(paths, o.n, func(addr string, k int) ([]time.Duration, error) { return roundTrips(addr, k, o.msg) })
	if err != nil {
		return err
	}
	printLatency("round trip p50", rt, 0.50)
	printLatency("round trip p99", rt, 0.99)
	cn, err := alternate(paths, o.conns, func(addr string, k int) ([]time.Duration, error) { return connects(addr, k, o.msg) })
	if err != nil {
		return err
	}
	printLatency("connect+1st reply p50", cn, 0.5)
	return nil
}

// alternate runs n samples per path in ten alternating chunks.
func alternate(paths []path, n int, measure func(addr string, k int) ([]time.Duration, error)) ([][]time.Duration, error) {
	out := make([][]time.Duration, len(paths))
	for chunk := range 10 {
		k := n/10 + boolInt(chunk < n%10)
		if k == 0 {
			continue
		}
		for i, p := range paths {
			ds, err := measure(p.addr, k)
			if err != nil {
				return out, fmt.Errorf("%s: %w", p.name, err)
			}
			out[i] = append(out[i], ds...)
		}
	}
	return out, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// printRow prints one figure per path and the ratios to the first.
func printRow(name, unit, format string, vs []float64) {
	fmt.Printf("%-28s", name)
	for i, x := range vs {
		fmt.Printf(" %14s", fmt.Sprintf(format, x)+" "+unit)
		if i > 0 {
			fmt.Printf(" %6.2fx", x/vs[0])
		}
	}
	fmt.Println()
}

func printLatency(name string, samples [][]time.Duration, p float64) {
	vs := make([]float64, len(samples))
	for i, s := range samples {
		vs[i] = micros(percentile(s, p))
	}
	printRow(name, "µs", "%11.1f", vs)
}

func medians(v [][]float64) []float64 {
	out := make([]float64, len(v))
	for i := range v {
		out[i] = median(v[i])
	}
	return out
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func label(dir string) string {
	if dir == "up" {
		return "throughput host->container"
	}
	return "throughput container->host"
}
