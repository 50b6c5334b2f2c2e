// Package fakeagent is a small stand-in for berth-agent in host tests that
// need an agent but not an engine: it takes berth-agent's flags, serves the
// System service's Version, Info and Shutdown over ttrpc on a unix socket,
// behind the stream header, and exits on SIGTERM or Shutdown. Host tests
// prefer the real agent; this one lets them run where it cannot be built.
package fakeagent

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/ttrpc"
	"google.golang.org/protobuf/types/known/emptypb"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
	"github.com/berth-dev/berth/proto/stream"
)

// Version is what the fake reports as its version.
const Version = "fake-agent"

// Options are the berth-agent flags the fake understands.
type Options struct {
	DataDir  string
	Socket   string
	Name     string
	Insecure []string
}

// Main parses berth-agent's flags from args and serves until SIGTERM or
// Shutdown. It returns the process exit code.
func Main(args []string) int {
	fs := flag.NewFlagSet("berth-agent", flag.ContinueOnError)
	var o Options
	fs.StringVar(&o.DataDir, "data-dir", "", "")
	fs.StringVar(&o.Socket, "socket", "", "")
	fs.StringVar(&o.Name, "name", "", "")
	fs.Func("insecure-registry", "", func(s string) error { o.Insecure = append(o.Insecure, s); return nil })
	fs.String("log-level", "info", "")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Serve(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "fake berth-agent:", err)
		return 1
	}
	return 0
}

// Serve serves on o.Socket until ctx ends or a client calls Shutdown.
func Serve(ctx context.Context, o Options) error {
	if o.Socket == "" || o.DataDir == "" {
		return errors.New("give --socket and --data-dir")
	}
	if err := os.MkdirAll(o.DataDir, 0o711); err != nil {
		return err
	}
	os.Remove(o.Socket)
	l, err := net.Listen("unix", o.Socket)
	if err != nil {
		return err
	}
	defer os.Remove(o.Socket)
	srv, err := ttrpc.NewServer()
	if err != nil {
		return err
	}
	done := make(chan struct{})
	var once sync.Once
	srv.RegisterService("berth.agent.v1.System", &ttrpc.ServiceDesc{Methods: methods(o, func() {
		time.AfterFunc(50*time.Millisecond, func() { once.Do(func() { close(done) }) })
	})})
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
		}
		srv.Close()
	}()
	err = srv.Serve(ctx, &headerListener{Listener: l})
	if errors.Is(err, ttrpc.ErrServerClosed) {
		return nil
	}
	return err
}

func methods(o Options, shutdown func()) map[string]ttrpc.Method {
	return map[string]ttrpc.Method{
		"Version": func(ctx context.Context, unmarshal func(any) error) (any, error) {
			return &agentv1.VersionResponse{Version: Version, ApiVersion: "1.0", GoVersion: runtime.Version(),
				Os: runtime.GOOS, Arch: runtime.GOARCH, KernelVersion: "fake"}, unmarshal(&emptypb.Empty{})
		},
		"Info": func(ctx context.Context, unmarshal func(any) error) (any, error) {
			return &agentv1.InfoResponse{Name: o.Name, ServerVersion: Version, RootDir: o.DataDir,
				StorageDriver: "overlayfs", OsType: runtime.GOOS, Architecture: runtime.GOARCH,
				Ncpu: int64(runtime.NumCPU()), MemTotal: 2 << 30, InsecureRegistries: o.Insecure,
				OperatingSystem: "fake", KernelVersion: "fake"}, unmarshal(&emptypb.Empty{})
		},
		"Shutdown": func(ctx context.Context, unmarshal func(any) error) (any, error) {
			shutdown()
			return &emptypb.Empty{}, unmarshal(&emptypb.Empty{})
		},
	}
}

// headerListener hands ttrpc only connections that start with a ttrpc header.
type headerListener struct{ net.Listener }

func (l *headerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		h, err := stream.Read(c)
		_ = c.SetReadDeadline(time.Time{})
		if err != nil || h.Kind != stream.KindTTRPC {
			c.Close()
			continue
		}
		return c, nil
	}
}
