package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

func (f *fakeContainers) Unpause(ctx context.Context, r *agentv1.ContainerRequest) (*emptypb.Empty, error) {
	ct, err := f.get(r.Id)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if ct.state != "paused" {
		return nil, grpcErr(errdefs.ErrConflict, "Container %s is not paused", ct.id)
	}
	ct.state = "running"
	return &emptypb.Empty{}, nil
}

func (f *fakeContainers) Restart(ctx context.Context, r *agentv1.StopContainerRequest) (*emptypb.Empty, error) {
	ct, err := f.get(r.Id)
	if err != nil {
		return nil, err
	}
	f.record(fmt.Sprintf("restart %s timeout=%v", ct.name, r.Timeout != nil))
	return &emptypb.Empty{}, nil
}

func (f *fakeContainers) Rename(ctx context.Context, r *agentv1.RenameRequest) (*emptypb.Empty, error) {
	ct, err := f.get(r.Id)
	if err != nil {
		return nil, err
	}
	f.record("rename " + ct.name + " " + r.Name)
	return &emptypb.Empty{}, nil
}

func (f *fakeContainers) Resize(ctx context.Context, r *agentv1.ResizeRequest) (*emptypb.Empty, error) {
	f.record(fmt.Sprintf("resize %dx%d", r.Height, r.Width))
	return &emptypb.Empty{}, nil
}

func (f *fakeContainers) List(ctx context.Context, r *agentv1.ListContainersRequest) (*agentv1.ListContainersResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("list all=%v limit=%d filters=%v", r.All, r.Limit, r.Filters))
	var out []*agentv1.ContainerSummary
	for _, ct := range f.order {
		if _, ok := f.byRef[ct.id]; !ok || (!r.All && ct.state != "running" && ct.state != "paused") {
			continue
		}
		sum := &agentv1.ContainerSummary{
			Id: ct.id, Names: []string{"/" + ct.name}, Image: ct.image, State: ct.state, Status: ct.state,
			Command: ct.image, Created: timestamppb.New(time.Now().Add(-3*time.Minute - time.Second)),
		}
		for p, bs := range ct.ports { // as the agent: the published ports
			for _, b := range bs {
				hp, _ := strconv.Atoi(b.HostPort)
				sum.Ports = append(sum.Ports, &agentv1.PortBinding{HostPort: uint32(hp), ContainerPort: uint32(p.Num()), Proto: string(p.Proto())})
			}
		}
		out = append(out, sum)
	}
	return &agentv1.ListContainersResponse{Containers: out}, nil
}

func (f *fakeContainers) ExecCreate(ctx context.Context, r *agentv1.ExecCreateRequest) (*agentv1.ExecCreateResponse, error) {
	ct, err := f.get(r.Id)
	if err != nil {
		return nil, err
	}
	var cfg container.ExecCreateRequest
	if err := json.Unmarshal(r.Config, &cfg); err != nil {
		return nil, grpcErr(errdefs.ErrInvalidArgument, "bad exec config: %v", err)
	}
	f.mu.Lock()
	running := ct.state == "running"
	f.mu.Unlock()
	if !running {
		return nil, grpcErr(errdefs.ErrConflict, "container %s is not running", ct.id)
	}
	f.record(fmt.Sprintf("exec %s %v", ct.name, cfg.Cmd))
	return &agentv1.ExecCreateResponse{ExecId: "exec-" + ct.name}, nil
}

func (f *fakeContainers) ExecStart(ctx context.Context, r *agentv1.ExecStartRequest) (*emptypb.Empty, error) {
	ct, err := f.get(r.ExecId[len("exec-"):])
	if err != nil {
		return nil, err
	}
	if ct.execCode == 127 {
		return nil, grpcErr(errdefs.ErrUnknown, "OCI runtime exec failed: exec failed: unable to start container process: exec: \"nope\": executable file not found in $PATH")
	}
	conn, err := f.h.stream(ctx, r.StreamId)
	if err != nil {
		return nil, err
	}
	go func() {
		defer conn.Close()
		_, _ = conn.Write(frame(1, ct.execOut))
	}()
	return &emptypb.Empty{}, nil
}

func (f *fakeContainers) ExecInspect(ctx context.Context, r *agentv1.ExecInspectRequest) (*agentv1.ExecInspectResponse, error) {
	ct, err := f.get(r.ExecId[len("exec-"):])
	if err != nil {
		return nil, err
	}
	return &agentv1.ExecInspectResponse{ExitCode: ct.execCode}, nil
}

func (f *fakeContainers) Stats(ctx context.Context, r *agentv1.StatsRequest, st agentv1.TTRPCContainers_StatsServer) error {
	ct, err := f.get(r.Id)
	if err != nil {
		return err
	}
	s := container.StatsResponse{ID: ct.id, Name: "/" + ct.name}
	s.CPUStats.CPUUsage.TotalUsage, s.CPUStats.SystemUsage, s.CPUStats.OnlineCPUs = 200, 2000, 2
	s.PreCPUStats.CPUUsage.TotalUsage, s.PreCPUStats.SystemUsage = 100, 1000
	s.MemoryStats.Usage, s.MemoryStats.Limit = 10<<20, 100<<20
	s.MemoryStats.Stats = map[string]uint64{"inactive_file": 0}
	s.Networks = map[string]container.NetworkStats{"eth0": {RxBytes: 1500, TxBytes: 500}}
	s.BlkioStats.IoServiceBytesRecursive = []container.BlkioStatEntry{{Op: "read", Value: 4096}, {Op: "write", Value: 8192}}
	s.PidsStats.Current = 3
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return st.Send(&agentv1.StatsResponse{Json: b})
}

func (f *fakeContainers) Top(ctx context.Context, r *agentv1.TopRequest) (*agentv1.TopResponse, error) {
	if _, err := f.get(r.Id); err != nil {
		return nil, err
	}
	return &agentv1.TopResponse{
		Titles:    []string{"UID", "PID", "CMD"},
		Processes: []*agentv1.TopProcess{{Fields: []string{"root", "42", "sleep 1000"}}},
	}, nil
}

func (f *fakeContainers) Changes(ctx context.Context, r *agentv1.ContainerRequest) (*agentv1.ChangesResponse, error) {
	if _, err := f.get(r.Id); err != nil {
		return nil, err
	}
	return &agentv1.ChangesResponse{Changes: []*agentv1.Change{{Path: "/etc", Kind: 0}, {Path: "/etc/x", Kind: 1}, {Path: "/y", Kind: 2}}}, nil
}

func (f *fakeContainers) Commit(ctx context.Context, r *agentv1.CommitRequest) (*agentv1.CommitResponse, error) {
	if _, err := f.get(r.Id); err != nil {
		return nil, err
	}
	f.record(fmt.Sprintf("commit ref=%s m=%s a=%s c=%v p=%v", r.Ref, r.Comment, r.Author, r.Changes, r.Pause))
	return &agentv1.CommitResponse{ImageId: "sha256:" + fmt.Sprintf("%064x", 7)}, nil
}

func (f *fakeContainers) CopyFrom(ctx context.Context, r *agentv1.CopyRequest) (*agentv1.PathStat, error) {
	if _, err := f.get(r.Id); err != nil {
		return nil, err
	}
	conn, err := f.h.stream(ctx, r.StreamId)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	f.mu.Lock()
	f.copyReqs = append(f.copyReqs, r)
	data := f.copyTar
	f.mu.Unlock()
	if data == nil {
		return nil, grpcErr(errdefs.ErrNotFound, "Could not find the file %s in container %s", r.Path, r.Id)
	}
	_, _ = conn.Write(data)
	return &agentv1.PathStat{Name: "x"}, nil
}

func (f *fakeContainers) CopyTo(ctx context.Context, r *agentv1.CopyRequest) (*emptypb.Empty, error) {
	if _, err := f.get(r.Id); err != nil {
		return nil, err
	}
	conn, err := f.h.stream(ctx, r.StreamId)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	f.mu.Lock()
	f.copyReqs = append(f.copyReqs, r)
	f.mu.Unlock()
	if r.Path == "/missing" {
		return nil, grpcErr(errdefs.ErrNotFound, "Could not find the file %s in container %s", r.Path, r.Id)
	}
	data, err := io.ReadAll(conn)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.copied = data
	f.mu.Unlock()
	return &emptypb.Empty{}, nil
}

func (f *fakeContainers) Prune(ctx context.Context, r *agentv1.PruneRequest) (*agentv1.PruneResponse, error) {
	f.record(fmt.Sprintf("prune containers %v", r.Filters))
	return &agentv1.PruneResponse{Deleted: []string{"aaa", "bbb"}, SpaceReclaimed: 2048}, nil
}

// fakeImageStore is an Images service that knows which images are there.
type fakeImageStore struct {
	agentv1.TTRPCImagesService
	mu       sync.Mutex
	present  map[string]bool
	pulled   []string
	inspects int
	images   []*agentv1.Image
}

func (f *fakeImageStore) has(ref string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.present[ref]
}

func (f *fakeImageStore) Inspect(ctx context.Context, r *agentv1.InspectImageRequest) (*agentv1.InspectImageResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inspects++
	if !f.present[r.Ref] {
		return nil, grpcErr(errdefs.ErrNotFound, "No such image: %s", r.Ref)
	}
	return &agentv1.InspectImageResponse{Image: &agentv1.Image{Id: "sha256:" + fmt.Sprintf("%064x", 1), RepoTags: []string{r.Ref}}, Config: []byte(`{"architecture":"amd64","os":"linux","config":{}}`)}, nil
}

func (f *fakeImageStore) Pull(ctx context.Context, r *agentv1.PullRequest, st agentv1.TTRPCImages_PullServer) error {
	f.mu.Lock()
	f.pulled = append(f.pulled, r.Ref)
	f.present[r.Ref] = true
	f.mu.Unlock()
	for _, m := range []*agentv1.PullProgress{
		{Status: "latest: Pulling from library/" + r.Ref},
		{Id: "a3ed95caeb02", Status: "Pull complete"},
		{Done: true, Digest: "sha256:" + fmt.Sprintf("%064x", 2), Status: "Status: Downloaded newer image for " + r.Ref + ":latest"},
	} {
		if err := st.Send(m); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeImageStore) List(ctx context.Context, r *agentv1.ListImagesRequest) (*agentv1.ListImagesResponse, error) {
	return &agentv1.ListImagesResponse{Images: f.images}, nil
}

func (f *fakeImageStore) Prune(ctx context.Context, r *agentv1.PruneImagesRequest) (*agentv1.PruneImagesResponse, error) {
	return &agentv1.PruneImagesResponse{Deleted: []*agentv1.ImageDeleteItem{{Deleted: "sha256:dead"}}, SpaceReclaimed: 1000}, nil
}

// fakeVolumes is a Volumes service over a slice.
type fakeVolumes struct {
	agentv1.TTRPCVolumesService
	mu   sync.Mutex
	vols []*agentv1.Volume
	reqs []string
}

func (f *fakeVolumes) Create(ctx context.Context, r *agentv1.CreateVolumeRequest) (*agentv1.Volume, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := r.Name
	if name == "" {
		name = fmt.Sprintf("%064x", 9)
	}
	v := &agentv1.Volume{Name: name, Driver: r.Driver, Labels: r.Labels, Options: r.DriverOpts, Scope: "local", Mountpoint: "/var/lib/berth/volumes/" + name + "/_data", Size: -1, RefCount: -1}
	f.vols = append(f.vols, v)
	return v, nil
}

func (f *fakeVolumes) List(ctx context.Context, r *agentv1.ListVolumesRequest) (*agentv1.ListVolumesResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &agentv1.ListVolumesResponse{Volumes: f.vols}, nil
}

func (f *fakeVolumes) Inspect(ctx context.Context, r *agentv1.InspectVolumeRequest) (*agentv1.Volume, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, v := range f.vols {
		if v.Name == r.Name {
			return v, nil
		}
	}
	return nil, grpcErr(errdefs.ErrNotFound, "get %s: no such volume", r.Name)
}

func (f *fakeVolumes) Remove(ctx context.Context, r *agentv1.RemoveVolumeRequest) (*emptypb.Empty, error) {
	if _, err := f.Inspect(ctx, &agentv1.InspectVolumeRequest{Name: r.Name}); err != nil {
		return nil, err
	}
	if r.Name == "busy" {
		return nil, grpcErr(errdefs.ErrConflict, "remove busy: volume is in use - [abc]")
	}
	return &emptypb.Empty{}, nil
}

func (f *fakeVolumes) Prune(ctx context.Context, r *agentv1.PruneVolumesRequest) (*agentv1.PruneVolumesResponse, error) {
	f.mu.Lock()
	f.reqs = append(f.reqs, fmt.Sprintf("prune all=%v", r.All))
	f.mu.Unlock()
	return &agentv1.PruneVolumesResponse{Deleted: []string{"v1"}, SpaceReclaimed: 1024}, nil
}

// fakeNetworks is a Networks service over a slice.
type fakeNetworks struct {
	agentv1.TTRPCNetworksService
	mu    sync.Mutex
	nets  []*agentv1.NetworkSummary
	calls []string
}

func (f *fakeNetworks) Create(ctx context.Context, r *agentv1.CreateNetworkRequest) (*agentv1.CreateNetworkResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := fmt.Sprintf("%064x", 0xbeef+len(f.nets))
	f.nets = append(f.nets, &agentv1.NetworkSummary{Id: id, Name: r.Name, Driver: r.Driver, Scope: "local", Subnet: r.Subnet})
	f.calls = append(f.calls, fmt.Sprintf("create %s %s subnet=%s internal=%v", r.Name, r.Driver, r.Subnet, r.Internal))
	return &agentv1.CreateNetworkResponse{Id: id}, nil
}

func (f *fakeNetworks) List(ctx context.Context, r *agentv1.ListNetworksRequest) (*agentv1.ListNetworksResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &agentv1.ListNetworksResponse{Networks: f.nets}, nil
}

func (f *fakeNetworks) Inspect(ctx context.Context, r *agentv1.InspectNetworkRequest) (*agentv1.InspectNetworkResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range f.nets {
		if n.Name == r.Id || n.Id == r.Id {
			return &agentv1.InspectNetworkResponse{Json: []byte(`{"Name":"` + n.Name + `","Id":"` + n.Id + `","Driver":"bridge"}`)}, nil
		}
	}
	return nil, grpcErr(errdefs.ErrNotFound, "network %s not found", r.Id)
}

func (f *fakeNetworks) Remove(ctx context.Context, r *agentv1.RemoveNetworkRequest) (*emptypb.Empty, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range f.nets {
		if n.Name == r.Id {
			return &emptypb.Empty{}, nil
		}
	}
	return nil, grpcErr(errdefs.ErrNotFound, "network %s not found", r.Id)
}

func (f *fakeNetworks) Connect(ctx context.Context, r *agentv1.ConnectNetworkRequest) (*emptypb.Empty, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("connect %s %s %v %s", r.Network, r.Container, r.Aliases, r.Ipv4Address))
	return &emptypb.Empty{}, nil
}

func (f *fakeNetworks) Prune(ctx context.Context, r *agentv1.PruneNetworksRequest) (*agentv1.PruneNetworksResponse, error) {
	return &agentv1.PruneNetworksResponse{Deleted: []string{"unused"}}, nil
}
