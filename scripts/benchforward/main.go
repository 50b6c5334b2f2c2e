//go:build linux

// Command benchforward measures berth's port-forward path against direct
// loopback in the same run: a host.Forwarder listening on 127.0.0.1, forward
// streams over a unix socket (as with the native driver) served by the
// agent's real ServeForward, to a server on 127.0.0.1. It reports bulk
// throughput both ways, the p50/p99 round trip of small request/responses
// on one connection, and the cost of a new connection, with the ratios to
// direct.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"

	"github.com/berth-dev/berth/guest/agent"
	"github.com/berth-dev/berth/host/forward"
	"github.com/berth-dev/berth/proto/stream"
)

func main() {
	size := flag.Int64("size", 1<<30, "bytes per throughput run")
	n := flag.Int("n", 10000, "request/responses for the round-trip run")
	conns := flag.Int("conns", 1000, "connections for the connect run")
	msg := flag.Int("msg", 64, "bytes per request and per response")
	flag.Parse()
	if err := run(*size, *n, *conns, *msg); err != nil {
		fmt.Fprintln(os.Stderr, "benchforward:", err)
		os.Exit(1)
	}
}

// resolver sends every container to 127.0.0.1.
type resolver struct{}

func (resolver) ForwardAddr(_, _ string, port uint16) (string, error) {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))), nil
}

// startPath starts the agent side on a unix socket and a Forwarder that
// publishes bindings for one container; it returns what was bound and a
// cleanup.
func startPath(bindings []forward.Binding) ([]forward.Forward, func(), error) {
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
				agent.ServeForward(ctx, resolver{}, h.ID, c)
			}()
		}
	}()
	f := forward.New(forward.StreamDialer(func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}))
	fws, err := f.Add(ctx, "bench", bindings)
	cleanup := func() { f.Close(); cancel(); ln.Close(); os.RemoveAll(dir) }
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return fws, cleanup, nil
}

// pathSetup publishes target on 127.0.0.1 and returns the host port.
func pathSetup(target uint16) (uint16, func(), error) {
	fws, cleanup, err := startPath([]forward.Binding{{Proto: forward.TCP, HostIP: netip.MustParseAddr("127.0.0.1"), ContainerPort: target}})
	if err != nil {
		return 0, nil, err
	}
	return fws[0].HostPort, cleanup, nil
}

func run(size int64, n, conns, msg int) error {
	srv, err := startServer(msg)
	if err != nil {
		return err
	}
	defer srv.Close()
	fwdPort, cleanup, err := pathSetup(srv.port)
	if err != nil {
		return err
	}
	defer cleanup()

	fmt.Printf("berth port-forward benchmark: %s per throughput run, %d round trips of %d bytes, %d connects\n",
		human(size), n, msg, conns)
	fmt.Printf("%-28s %14s %14s %8s\n", "", "direct", "forwarded", "ratio")
	for _, dir := range []string{"up", "down"} {
		d, dcpu, err := throughput(srv.port, dir, size)
		if err != nil {
			return fmt.Errorf("direct %s: %w", dir, err)
		}
		f, fcpu, err := throughput(fwdPort, dir, size)
		if err != nil {
			return fmt.Errorf("forwarded %s: %w", dir, err)
		}
		fmt.Printf("%-28s %11.0f MB/s %11.0f MB/s %7.2fx\n", label(dir), d, f, f/d)
		fmt.Printf("%-28s %12.2f s %12.2f s %7.2fx\n", "  CPU time (all actors)", dcpu, fcpu, fcpu/dcpu)
	}
	d, err := roundTrips(srv.port, n, msg)
	if err != nil {
		return fmt.Errorf("direct round trips: %w", err)
	}
	f, err := roundTrips(fwdPort, n, msg)
	if err != nil {
		return fmt.Errorf("forwarded round trips: %w", err)
	}
	for _, q := range []struct {
		name string
		p    float64
	}{{"round trip p50", 0.50}, {"round trip p99", 0.99}} {
		dv, fv := percentile(d, q.p), percentile(f, q.p)
		fmt.Printf("%-28s %11.1f µs %11.1f µs %7.2fx\n", q.name, micros(dv), micros(fv), float64(fv)/float64(dv))
	}
	dc, err := connects(srv.port, conns, msg)
	if err != nil {
		return fmt.Errorf("direct connects: %w", err)
	}
	fc, err := connects(fwdPort, conns, msg)
	if err != nil {
		return fmt.Errorf("forwarded connects: %w", err)
	}
	dv, fv := percentile(dc, 0.5), percentile(fc, 0.5)
	fmt.Printf("%-28s %11.1f µs %11.1f µs %7.2fx\n", "connect+1st reply p50", micros(dv), micros(fv), float64(fv)/float64(dv))
	return nil
}

func label(dir string) string {
	if dir == "up" {
		return "throughput host->container"
	}
	return "throughput container->host"
}
