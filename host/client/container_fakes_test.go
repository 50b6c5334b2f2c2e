package client

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"google.golang.org/protobuf/types/known/emptypb"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// frame is one docker stdcopy frame: stream byte, three zeros, big-endian
// length, payload.
func frame(stream byte, data string) []byte {
	b := make([]byte, 8, 8+len(data))
	b[0] = stream
	binary.BigEndian.PutUint32(b[4:], uint32(len(data)))
	return append(b, data...)
}

// fakeCtr is a container of the fake engine and how it behaves.
type fakeCtr struct {
	id, name, image string
	tty, openStdin  bool
	state           string // created, running, paused, exited
	exitCode        int64
	stdout, stderr  string // written to an attached stream when started
	echoStdin       bool   // stdin is copied to stdout until EOF
	keepRunning     bool   // does not exit by itself
	ports           network.PortMap
	logs            []byte // what Logs writes (already framed unless tty)
	execOut         string
	execCode        int64

	attach  net.Conn
	exited  chan struct{}
	inRead  chan struct{} // closed once stdin was read to its end
	gotIn   []byte
	attachR *agentv1.AttachContainerRequest
}

// fakeContainers is a Containers service with scripted containers.
type fakeContainers struct {
	agentv1.TTRPCContainersService // nil: calls a test does not expect panic
	h                              *engineHarness

	mu        sync.Mutex
	byRef     map[string]*fakeCtr
	order     []*fakeCtr
	next      *fakeCtr // template for the next created container
	startErr  error
	createErr error // what Create fails with, when set
	// beforeCreate, when set, runs first in Create.
	beforeCreate func(ctx context.Context) error
	created      []*agentv1.CreateContainerRequest
	calls        []string
	copyTar      []byte // what CopyFrom writes
	copied       []byte // what CopyTo read
	copyReqs     []*agentv1.CopyRequest
	statsN       int
}

func (f *fakeContainers) record(call string) {
	f.mu.Lock()
	f.calls = append(f.calls, call)
	f.mu.Unlock()
}

// add registers a container directly.
func (f *fakeContainers) add(ct *fakeCtr) *fakeCtr {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ct.id == "" {
		ct.id = fmt.Sprintf("%064x", len(f.order)+0xabc)
	}
	if ct.state == "" {
		ct.state = "created"
	}
	ct.exited = make(chan struct{})
	ct.inRead = make(chan struct{})
	if ct.state == "exited" {
		close(ct.exited)
	}
	f.byRef[ct.id] = ct
	f.byRef[ct.id[:12]] = ct
	f.byRef[ct.name] = ct
	f.order = append(f.order, ct)
	return ct
}

func (f *fakeContainers) get(ref string) (*fakeCtr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ct, ok := f.byRef[ref]; ok {
		return ct, nil
	}
	return nil, grpcErr(errdefs.ErrNotFound, "No such container: %s", ref)
}

func (f *fakeContainers) Create(ctx context.Context, r *agentv1.CreateContainerRequest) (*agentv1.CreateContainerResponse, error) {
	var cfg container.Config
	if err := json.Unmarshal(r.Config, &cfg); err != nil {
		return nil, grpcErr(errdefs.ErrInvalidArgument, "bad config: %v", err)
	}
	if f.beforeCreate != nil {
		if err := f.beforeCreate(ctx); err != nil {
			return nil, err
		}
	}
	if f.createErr != nil {
		return nil, f.createErr
	}
	if !f.h.imgs.has(cfg.Image) { // as the agent: the image must be there
		return nil, grpcErr(errdefs.ErrNotFound, "No such image: %s", cfg.Image)
	}
	f.mu.Lock()
	f.created = append(f.created, r)
	tmpl := f.next
	f.mu.Unlock()
	ct := &fakeCtr{}
	if tmpl != nil {
		*ct = *tmpl
	}
	ct.name, ct.image, ct.tty, ct.openStdin = r.Name, cfg.Image, cfg.Tty, cfg.OpenStdin
	if ct.name == "" {
		ct.name = "happy_fake"
	}
	ct.state = "created"
	ct = f.add(ct)
	return &agentv1.CreateContainerResponse{Id: ct.id, Name: ct.name}, nil
}

func (f *fakeContainers) Attach(ctx context.Context, r *agentv1.AttachContainerRequest) (*emptypb.Empty, error) {
	ct, err := f.get(r.Id)
	if err != nil {
		return nil, err
	}
	conn, err := f.h.stream(ctx, r.StreamId)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	ct.attach, ct.attachR = conn, r
	f.mu.Unlock()
	f.record("attach " + ct.name)
	return &emptypb.Empty{}, nil
}

func (f *fakeContainers) Start(ctx context.Context, r *agentv1.ContainerRequest) (*emptypb.Empty, error) {
	ct, err := f.get(r.Id)
	if err != nil {
		return nil, err
	}
	f.record("start " + ct.name)
	if f.startErr != nil {
		return nil, f.startErr
	}
	f.mu.Lock()
	if ct.state == "running" {
		f.mu.Unlock()
		return &emptypb.Empty{}, nil
	}
	ct.state = "running"
	ct.exited = make(chan struct{})
	conn := ct.attach
	f.mu.Unlock()
	go f.run(ct, conn)
	return &emptypb.Empty{}, nil
}

// run plays the container's script on its attached stream, then exits
// unless it keeps running.
func (f *fakeContainers) run(ct *fakeCtr, conn net.Conn) {
	if conn != nil {
		write := func(stream byte, s string) {
			if s == "" {
				return
			}
			if ct.tty {
				_, _ = conn.Write([]byte(s))
			} else {
				_, _ = conn.Write(frame(stream, s))
			}
		}
		write(1, ct.stdout)
		write(2, ct.stderr)
		if ct.echoStdin {
			in, _ := io.ReadAll(conn)
			f.mu.Lock()
			ct.gotIn = in
			f.mu.Unlock()
			close(ct.inRead)
			write(1, string(in))
		}
		if ct.keepRunning {
			_, _ = io.Copy(io.Discard, conn) // until the client goes away
		}
		conn.Close()
	}
	if ct.keepRunning {
		return
	}
	f.exit(ct, ct.exitCode)
}

func (f *fakeContainers) exit(ct *fakeCtr, code int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ct.state != "running" && ct.state != "paused" {
		return
	}
	ct.state, ct.exitCode = "exited", code
	close(ct.exited)
}

func (f *fakeContainers) Wait(ctx context.Context, r *agentv1.WaitContainerRequest) (*agentv1.WaitContainerResponse, error) {
	ct, err := f.get(r.Id)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	ch := ct.exited
	waitFor := ct.state == "running" || ct.state == "paused"
	f.mu.Unlock()
	if waitFor {
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return &agentv1.WaitContainerResponse{StatusCode: ct.exitCode}, nil
}

func (f *fakeContainers) Stop(ctx context.Context, r *agentv1.StopContainerRequest) (*emptypb.Empty, error) {
	ct, err := f.get(r.Id)
	if err != nil {
		return nil, err
	}
	f.record(fmt.Sprintf("stop %s timeout=%v signal=%q", ct.name, r.Timeout != nil && *r.Timeout >= 0, r.Signal))
	f.exit(ct, 137)
	return &emptypb.Empty{}, nil
}

func (f *fakeContainers) Kill(ctx context.Context, r *agentv1.KillContainerRequest) (*emptypb.Empty, error) {
	ct, err := f.get(r.Id)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	running := ct.state == "running"
	f.mu.Unlock()
	if !running {
		return nil, grpcErr(errdefs.ErrConflict, "cannot kill container: %s: container %s is not running", ct.name, ct.id)
	}
	f.record("kill " + ct.name + " " + r.Signal)
	f.exit(ct, 137)
	return &emptypb.Empty{}, nil
}

func (f *fakeContainers) Remove(ctx context.Context, r *agentv1.RemoveContainerRequest) (*emptypb.Empty, error) {
	ct, err := f.get(r.Id)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if ct.state == "running" && !r.Force {
		return nil, grpcErr(errdefs.ErrConflict, "cannot remove container \"/%s\": container is running: stop the container before removing or force remove", ct.name)
	}
	for k, v := range f.byRef {
		if v == ct {
			delete(f.byRef, k)
		}
	}
	f.calls = append(f.calls, fmt.Sprintf("remove %s force=%v volumes=%v", ct.name, r.Force, r.Volumes))
	return &emptypb.Empty{}, nil
}

func (f *fakeContainers) Inspect(ctx context.Context, r *agentv1.InspectContainerRequest) (*agentv1.InspectContainerResponse, error) {
	ct, err := f.get(r.Id)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	doc := container.InspectResponse{
		ID:              ct.id,
		Name:            "/" + ct.name,
		State:           &container.State{Status: container.ContainerState(ct.state), Running: ct.state == "running" || ct.state == "paused", Paused: ct.state == "paused"},
		Config:          &container.Config{Image: ct.image, Tty: ct.tty, OpenStdin: ct.openStdin, AttachStdout: true, AttachStderr: true},
		NetworkSettings: &container.NetworkSettings{Ports: ct.ports},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return &agentv1.InspectContainerResponse{Json: b}, nil
}

func (f *fakeContainers) Logs(ctx context.Context, r *agentv1.LogsRequest) (*emptypb.Empty, error) {
	ct, err := f.get(r.Id)
	if err != nil {
		return nil, err
	}
	f.record(fmt.Sprintf("logs %s follow=%v tail=%s since=%v", ct.name, r.Follow, r.Tail, r.Since != nil))
	conn, err := f.h.stream(ctx, r.StreamId)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_, _ = conn.Write(ct.logs)
	return &emptypb.Empty{}, nil
}

func (f *fakeContainers) Pause(ctx context.Context, r *agentv1.ContainerRequest) (*emptypb.Empty, error) {
	ct, err := f.get(r.Id)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if ct.state != "running" {
		return nil, grpcErr(errdefs.ErrConflict, "Container %s is not running", ct.id)
	}
	ct.state = "paused"
	return &emptypb.Empty{}, nil
}
