//go:build linux

package agent

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/ttrpc"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	ctypes "github.com/moby/moby/api/types/container"
	ntypes "github.com/moby/moby/api/types/network"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/berth-dev/berth/guest/container"
	"github.com/berth-dev/berth/guest/internal/testenv"
	"github.com/berth-dev/berth/guest/network"
	"github.com/berth-dev/berth/internal/testimage"
	"github.com/berth-dev/berth/internal/testwait"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
	"github.com/berth-dev/berth/proto/stream"
)

// The test binary doubles as the containers' shim (the runtime re-executes
// os.Executable() with "shim DIR").
func init() {
	if len(os.Args) == 3 && os.Args[1] == "shim" {
		os.Exit(container.RunShim(os.Args[2:]))
	}
}

// harness is a Server on a unix socket with ttrpc clients, running its
// networks inside a network namespace of its own.
type harness struct {
	t       *testing.T
	dataDir string
	srv     *Server
	cancel  context.CancelFunc
	done    chan error
	dial    stream.Dial
	cl      *ttrpc.Client
	ctr     agentv1.TTRPCContainersClient
	nets    agentv1.TTRPCNetworksService
	imgs    agentv1.TTRPCImagesClient
	sys     agentv1.TTRPCSystemClient
}

// testEnv is the state shared by the harnesses of one test: data dir,
// network namespace and crun root.
type testEnv struct {
	dataDir, netns, crunRoot string
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	testenv.RequiresRoot(t)
	testenv.RequiresBinary(t, "crun")
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("needs /bin/busybox (apt-get install busybox-static)")
	}
	// Short: the shims' unix sockets live under the data dir (108 bytes).
	dir, err := os.MkdirTemp("/tmp", "bt")
	if err != nil {
		t.Fatal(err)
	}
	env := &testEnv{dataDir: filepath.Join(dir, "d"), netns: filepath.Join(dir, "netns"), crunRoot: filepath.Join(dir, "crun")}
	if err := newNetns(env.netns); err != nil {
		t.Fatalf("create test network namespace: %v", err)
	}
	t.Cleanup(func() {
		removeNetns(env.netns)
		if err := os.RemoveAll(dir); err != nil {
			t.Logf("cleanup %s: %v", dir, err)
		}
	})
	return env
}

// start opens a Server on env's data dir and serves it.
func (env *testEnv) start(t *testing.T) *harness {
	t.Helper()
	engineHooks.network = func(o *network.Options) {
		o.NetNS = env.netns
		o.DefaultSubnet = "10.252.0.0/24"
		o.Upstreams = []string{"127.0.0.1:9"} // never leave the machine
	}
	engineHooks.runtime = []container.Option{container.WithCrunRoot(env.crunRoot)}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := New(ctx, Options{DataDir: env.dataDir})
	engineHooks.network, engineHooks.runtime = nil, nil // read by New only
	if err != nil {
		cancel()
		t.Fatalf("New: %v", err)
	}
	sock := filepath.Join(env.dataDir, fmt.Sprintf("agent-%d.sock", time.Now().UnixNano()))
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, dataDir: env.dataDir, srv: srv, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- srv.Serve(ctx, l) }()
	h.dial = func() (net.Conn, error) { return net.Dial("unix", sock) }
	conn, err := stream.Open(h.dial, stream.Header{Kind: stream.KindTTRPC})
	if err != nil {
		t.Fatal(err)
	}
	h.cl = ttrpc.NewClient(conn)
	h.ctr = agentv1.NewTTRPCContainersClient(h.cl)
	h.nets = agentv1.NewTTRPCNetworksClient(h.cl)
	h.imgs = agentv1.NewTTRPCImagesClient(h.cl)
	h.sys = agentv1.NewTTRPCSystemClient(h.cl)
	return h
}

// with returns h reporting to t (for subtests).
func (h *harness) with(t *testing.T) *harness {
	c := *h
	c.t = t
	return &c
}

// close stops the Server without touching its containers.
func (h *harness) close() {
	h.cl.Close()
	h.cancel()
	<-h.done
	if err := h.srv.Close(); err != nil {
		h.t.Errorf("Server.Close: %v", err)
	}
}

// cleanupAll force-removes every container and user network, then closes.
func (h *harness) cleanupAll() {
	ctx := context.Background()
	if l, err := h.ctr.List(ctx, &agentv1.ListContainersRequest{All: true}); err == nil {
		for _, c := range l.Containers {
			if _, err := h.ctr.Remove(ctx, &agentv1.RemoveContainerRequest{Id: c.Id, Force: true, Volumes: true}); err != nil {
				h.t.Errorf("cleanup: remove %s: %v", c.Names, err)
			}
		}
	}
	if l, err := h.nets.List(ctx, &agentv1.ListNetworksRequest{Filters: []string{"type=custom"}}); err == nil {
		for _, n := range l.Networks {
			h.nets.Remove(ctx, &agentv1.RemoveNetworkRequest{Id: n.Id})
		}
	}
	h.close()
}

// openData reserves a data stream and dials it.
func (h *harness) openData(ctx context.Context) (string, net.Conn) {
	h.t.Helper()
	resp, err := h.sys.OpenStream(ctx, &emptypb.Empty{})
	if err != nil {
		h.t.Fatalf("OpenStream: %v", err)
	}
	c, err := stream.Open(h.dial, stream.Header{Kind: stream.KindData, ID: resp.Id})
	if err != nil {
		h.t.Fatalf("open data stream: %v", err)
	}
	return resp.Id, c
}

// testImage is busybox with the applets the tests use, tagged ref.
func (h *harness) loadImage(ctx context.Context, ref string, extra map[string]string) {
	h.t.Helper()
	img := busyboxImage(h.t, extra)
	tag, err := name.NewTag(ref)
	if err != nil {
		h.t.Fatal(err)
	}
	id, conn := h.openData(ctx)
	errc := make(chan error, 1)
	go func() {
		err := tarball.Write(tag, img, conn)
		conn.Close()
		errc <- err
	}()
	if _, err := h.imgs.Load(ctx, &agentv1.LoadImageRequest{StreamId: id}); err != nil {
		h.t.Fatalf("Load: %v", err)
	}
	if err := <-errc; err != nil {
		h.t.Fatalf("write image tarball: %v", err)
	}
}

var applets = []string{"sh", "echo", "cat", "sleep", "ls", "mkdir", "touch", "rm", "seq", "wget", "httpd", "nslookup", "true", "false", "grep", "awk", "nc"}

// busyboxImage builds an image from /bin/busybox with the applets, a
// passwd/group and /www/index.html; extra are files (mode 0644) to add.
func busyboxImage(t *testing.T, extra map[string]string) v1.Image {
	t.Helper()
	files := append(testimage.BusyboxFiles(t), testimage.File{Name: "www/"})
	for _, a := range applets {
		if a != "sh" { // BusyboxFiles has it
			files = append(files, testimage.File{Name: "bin/" + a, Link: "busybox"})
		}
	}
	passwd := "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n"
	content := map[string]string{"etc/passwd": passwd, "etc/group": "root:x:0:\nnogroup:x:65534:\n", "www/index.html": "hello from web\n"}
	for k, v := range extra {
		content[k] = v
	}
	for _, k := range sortedKeys(content) {
		files = append(files, testimage.File{Name: k, Data: []byte(content[k])})
	}
	return testimage.Image(t, nil, nil, testimage.Layer(t, files...))
}

// createOpts are the parts of docker's create bodies tests set.
type createOpts struct {
	name    string
	cfg     ctypes.Config
	hc      ctypes.HostConfig
	netConf *ntypes.NetworkingConfig
}

func (h *harness) create(ctx context.Context, o createOpts) (string, error) {
	cfg, _ := json.Marshal(o.cfg)
	hc, _ := json.Marshal(o.hc)
	req := &agentv1.CreateContainerRequest{Name: o.name, Config: cfg, HostConfig: hc}
	if o.netConf != nil {
		req.NetworkingConfig, _ = json.Marshal(o.netConf)
	}
	resp, err := h.ctr.Create(ctx, req)
	if err != nil {
		return "", err
	}
	return resp.Id, nil
}

func (h *harness) mustCreate(ctx context.Context, o createOpts) string {
	h.t.Helper()
	id, err := h.create(ctx, o)
	if err != nil {
		h.t.Fatalf("create %s: %v", o.name, err)
	}
	return id
}

// run creates and starts a container attached, and returns its demuxed
// output and exit code.
func (h *harness) run(ctx context.Context, o createOpts) (stdout, stderr string, code int64) {
	h.t.Helper()
	id := h.mustCreate(ctx, o)
	sid, conn := h.openData(ctx)
	defer conn.Close()
	if _, err := h.ctr.Attach(ctx, &agentv1.AttachContainerRequest{Id: id, StreamId: sid, Stdout: true, Stderr: true}); err != nil {
		h.t.Fatalf("attach: %v", err)
	}
	if _, err := h.ctr.Start(ctx, &agentv1.ContainerRequest{Id: id}); err != nil {
		h.t.Fatalf("start: %v", err)
	}
	out, errOut, err := demux(conn)
	if err != nil {
		h.t.Fatalf("read output: %v", err)
	}
	w, err := h.ctr.Wait(ctx, &agentv1.WaitContainerRequest{Id: id})
	if err != nil {
		h.t.Fatalf("wait: %v", err)
	}
	return out, errOut, w.StatusCode
}

// demux reads docker's stdcopy frames until EOF.
func demux(r io.Reader) (string, string, error) {
	var out, errOut strings.Builder
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if err == io.EOF {
				return out.String(), errOut.String(), nil
			}
			return out.String(), errOut.String(), err
		}
		n := binary.BigEndian.Uint32(hdr[4:])
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return "", "", err
		}
		switch hdr[0] {
		case 1:
			out.Write(b)
		case 2:
			errOut.Write(b)
		default:
			return "", "", fmt.Errorf("bad stream byte %d", hdr[0])
		}
	}
}

func (h *harness) inspect(ctx context.Context, id string) *ctypes.InspectResponse {
	h.t.Helper()
	resp, err := h.ctr.Inspect(ctx, &agentv1.InspectContainerRequest{Id: id})
	if err != nil {
		h.t.Fatalf("inspect %s: %v", id, err)
	}
	var doc ctypes.InspectResponse
	if err := json.Unmarshal(resp.Json, &doc); err != nil {
		h.t.Fatal(err)
	}
	return &doc
}

// waitFor polls cond with the project's generous deadline (testwait.For).
var waitFor = testwait.For
