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

func main() {
	size := flag.Int64("size", 1<<30, "bytes per throughput run")
	n := flag.Int("n", 10000, "request/responses for the round-trip run")
	conns := flag.Int("conns", 1000, "connections for the connect run")
	msg := flag.Int("msg", 64, "bytes per request and per response")
	rounds := flag.Int("rounds", 3, "throughput runs per path and direction (the median is shown)")
	dirs := flag.String("dirs", "up,down", "throughput directions to run: up (host to container), down, or both")
	target := flag.String("target", "container", "where the server runs: container (a network namespace behind a bridge, needs root) or loopback (127.0.0.1)")
	flag.Parse()
	if *size <= 0 || *n <= 0 || *conns <= 0 || *msg <= 0 || *rounds <= 0 {
		fmt.Fprintln(os.Stderr, "benchforward: -size, -n, -conns, -msg and -rounds must be positive")
		os.Exit(2)
	}
	if *target != "container" && *target != "loopback" {
		fmt.Fprintln(os.Stderr, "benchforward: -target must be container or loopback")
		os.Exit(2)
	}
	if err := run(*target, *size, *n, *conns, *msg, *rounds, strings.Split(*dirs, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "benchforward:", err)
		os.Exit(1)
	}
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

func run(target string, size int64, n, conns, msg, rounds int, dirs []string) error {
	srv, ip, stop, err := startTarget(target, msg)
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
	ports := []string{net.JoinHostPort(ip, strconv.Itoa(int(srv.port))), fwdAddr, hoAddr}

	fmt.Printf("berth port-forward benchmark: %s per throughput run (median of %d), %d round trips of %d bytes, %d connects;\n"+
		"direct and forwarded runs alternate so that both see the same machine load;\n"+
		"direct: to the server at %s; forwarded: relayed over a forward stream (VM drivers);\n"+
		"handed off: the native driver's path (the agent relays the accepted socket itself)\n", human(size), rounds, n, msg, conns, ports[0])
	fmt.Printf("%-28s %14s %14s %7s %14s %7s\n", "", "direct", "forwarded", "ratio", "handed off", "ratio")
	for _, dir := range dirs {
		if dir != "up" && dir != "down" {
			return fmt.Errorf("unknown direction %q (want up or down)", dir)
		}
		mbps, cpu := make([][]float64, len(ports)), make([][]float64, len(ports))
		for range rounds {
			for i, addr := range ports {
				v, c, err := throughput(addr, dir, size)
				if err != nil {
					return fmt.Errorf("%s %s: %w", pathName(i), dir, err)
				}
				mbps[i], cpu[i] = append(mbps[i], v), append(cpu[i], c)
			}
		}
		printRow(label(dir), "MB/s", "%11.0f", median(mbps[0]), median(mbps[1]), median(mbps[2]))
		printRow("  CPU time, all actors", "s", "%13.2f", median(cpu[0]), median(cpu[1]), median(cpu[2]))
	}
	rt, err := alternate(ports, n, func(addr string, k int) ([]time.Duration, error) { return roundTrips(addr, k, msg) })
	if err != nil {
		return err
	}
	for _, q := range []struct {
		name string
		p    float64
	}{{"round trip p50", 0.50}, {"round trip p99", 0.99}} {
		printLatency(q.name, rt, q.p)
	}
	cn, err := alternate(ports, conns, func(addr string, k int) ([]time.Duration, error) { return connects(addr, k, msg) })
	if err != nil {
		return err
	}
	printLatency("connect+1st reply p50", cn, 0.5)
	return nil
}

// alternate runs n samples per path in ten alternating chunks.
func alternate(ports []string, n int, measure func(addr string, k int) ([]time.Duration, error)) ([][]time.Duration, error) {
	out := make([][]time.Duration, len(ports))
	for chunk := range 10 {
		k := n/10 + boolInt(chunk < n%10)
		if k == 0 {
			continue
		}
		for i, addr := range ports {
			ds, err := measure(addr, k)
			if err != nil {
				return out, fmt.Errorf("%s: %w", pathName(i), err)
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

func pathName(i int) string { return []string{"direct", "forwarded", "handed off"}[i] }

// printRow prints one figure per path and the ratios to direct.
func printRow(name, unit, format string, d, f, h float64) {
	v := func(x float64) string { return fmt.Sprintf(format, x) + " " + unit }
	fmt.Printf("%-28s %14s %14s %6.2fx %14s %6.2fx\n", name, v(d), v(f), f/d, v(h), h/d)
}

func printLatency(name string, samples [][]time.Duration, p float64) {
	us := func(i int) float64 { return micros(percentile(samples[i], p)) }
	printRow(name, "µs", "%11.1f", us(0), us(1), us(2))
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
