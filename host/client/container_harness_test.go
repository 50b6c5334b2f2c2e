package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/containerd/ttrpc"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/host/machine"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
	"github.com/berth-dev/berth/proto/stream"
)

// engineHarness serves fake System, Images, Containers, Volumes and
// Networks services over real ttrpc on a unix socket, each connection
// starting with a stream header as the agent's do; data streams are
// handed to the fake services by id.
type engineHarness struct {
	*dataStreams
	ttrpcCh chan net.Conn
	done    chan struct{}

	ctrs *fakeContainers
	imgs *fakeImageStore
	vols *fakeVolumes
	nets *fakeNetworks
}

// newEngineCLI returns a cli talking to a fresh fake engine, with stdin
// in and stdout/stderr captured.
func newEngineCLI(t *testing.T, in string) (*cli, *engineHarness, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	dir, err := os.MkdirTemp("", "berth-ct") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	h := &engineHarness{dataStreams: newDataStreams(), ttrpcCh: make(chan net.Conn), done: make(chan struct{})}
	h.ctrs = &fakeContainers{h: h, byRef: map[string]*fakeCtr{}}
	h.imgs = &fakeImageStore{present: map[string]bool{}}
	h.vols = &fakeVolumes{}
	h.nets = &fakeNetworks{}
	srv, err := ttrpc.NewServer()
	if err != nil {
		t.Fatalf("ttrpc server: %v", err)
	}
	agentv1.RegisterTTRPCSystemService(srv, h.dataStreams)
	agentv1.RegisterTTRPCImagesService(srv, h.imgs)
	agentv1.RegisterTTRPCContainersService(srv, h.ctrs)
	agentv1.RegisterTTRPCVolumesService(srv, h.vols)
	agentv1.RegisterTTRPCNetworksService(srv, h.nets)
	go h.accept(l)
	go srv.Serve(context.Background(), &queueListener{h: h, addr: l.Addr()}) //nolint:errcheck // ends with Close
	dial := func() (net.Conn, error) { return net.Dial("unix", sock) }
	conn, err := stream.Open(dial, stream.Header{Kind: stream.KindTTRPC})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	cl := ttrpc.NewClient(conn)
	t.Cleanup(func() {
		cl.Close()
		close(h.done)
		l.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	var out, errOut bytes.Buffer
	c := &cli{in: strings.NewReader(in), out: &out, errOut: &errOut, machine: "test"}
	c.conn = &agentConn{
		machine:    &machine.Machine{Name: "test"},
		client:     cl,
		dial:       dial,
		System:     agentv1.NewTTRPCSystemClient(cl),
		Images:     agentv1.NewTTRPCImagesClient(cl),
		Containers: agentv1.NewTTRPCContainersClient(cl),
		Volumes:    agentv1.NewTTRPCVolumesClient(cl),
		Networks:   agentv1.NewTTRPCNetworksClient(cl),
	}
	return c, h, &out, &errOut
}

func (h *engineHarness) accept(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go h.dispatch(c)
	}
}

func (h *engineHarness) dispatch(c net.Conn) {
	hd, err := stream.Read(c)
	if err != nil {
		c.Close()
		return
	}
	switch hd.Kind {
	case stream.KindTTRPC:
		select {
		case h.ttrpcCh <- c:
		case <-h.done:
			c.Close()
		}
	case stream.KindData:
		h.deliver(hd.ID, c)
	case stream.KindDaemon:
		go h.serveDaemon(c)
	default:
		c.Close()
	}
}

// serveDaemon answers the machine daemon's control requests as a daemon
// that forwards every published port of the running fake containers on
// 127.0.0.1, recording each request as "daemon <op> <container>" among
// the container calls, so that tests see when the CLI synced.
func (h *engineHarness) serveDaemon(c net.Conn) {
	defer c.Close()
	dec := json.NewDecoder(c)
	enc := json.NewEncoder(c)
	for {
		var req struct{ Op, Container string }
		if err := dec.Decode(&req); err != nil {
			return
		}
		h.ctrs.record("daemon " + req.Op + " " + req.Container)
		if err := enc.Encode(map[string]any{"forwards": h.ctrs.forwards()}); err != nil {
			return
		}
	}
}

// forwards are the forwards a daemon would hold for the fake containers,
// in the daemon's wire form.
func (f *fakeContainers) forwards() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []map[string]any{}
	for _, ct := range f.order {
		if ct.state != "running" {
			continue
		}
		for p, bs := range ct.ports {
			for _, b := range bs {
				if hp, err := strconv.ParseUint(b.HostPort, 10, 16); err == nil && hp > 0 {
					out = append(out, map[string]any{"container": ct.id, "proto": string(p.Proto()),
						"hostIP": "127.0.0.1", "hostPort": hp, "containerPort": p.Num()})
				}
			}
		}
	}
	return out
}

type queueListener struct {
	h    *engineHarness
	addr net.Addr
}

func (l *queueListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.h.ttrpcCh:
		return c, nil
	case <-l.h.done:
		return nil, net.ErrClosed
	}
}
func (l *queueListener) Close() error   { return nil }
func (l *queueListener) Addr() net.Addr { return l.addr }

// execCmd runs cmd under a root named "berth", the way Execute does, and
// returns what was printed for the error and the exit code.
func execCmd(t *testing.T, cmd *cobra.Command, args ...string) (string, int) {
	t.Helper()
	root := &cobra.Command{Use: "berth", SilenceErrors: true, SilenceUsage: true}
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(cmd)
	root.SetArgs(append([]string{cmd.Name()}, args...))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	root.SetContext(ctx)
	ran, err := root.ExecuteC()
	if err == nil {
		return "", 0
	}
	var b bytes.Buffer
	code := printError(&b, ran, err)
	return b.String(), code
}

// grpcErr is err as the agent sends it.
func grpcErr(kind error, format string, args ...any) error {
	return errgrpc.ToGRPC(&kindError{msg: fmt.Sprintf(format, args...), kind: kind})
}
