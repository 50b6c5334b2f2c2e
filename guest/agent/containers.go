//go:build linux

package agent

import (
	"context"
	"encoding/json"
	"net"

	"github.com/containerd/errdefs"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/berth-dev/berth/guest/container"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// containersService implements agentv1.TTRPCContainersService over the
// engine.
type containersService struct {
	e       *engine
	streams *streamRegistry
}

var _ agentv1.TTRPCContainersService = (*containersService)(nil)

var emptyResp = &emptypb.Empty{}

func (s *containersService) Create(ctx context.Context, req *agentv1.CreateContainerRequest) (*agentv1.CreateContainerResponse, error) {
	r, err := s.e.create(ctx, req)
	if err != nil {
		return nil, err
	}
	return &agentv1.CreateContainerResponse{Id: r.ID, Name: r.Name}, nil
}

func (s *containersService) Start(ctx context.Context, req *agentv1.ContainerRequest) (*emptypb.Empty, error) {
	return emptyResp, s.e.start(ctx, req.Id)
}

func (s *containersService) Stop(ctx context.Context, req *agentv1.StopContainerRequest) (*emptypb.Empty, error) {
	r, err := s.e.store.get(req.Id)
	if err != nil {
		return nil, err
	}
	defer s.e.lock(r.ID)()
	return emptyResp, s.e.stop(ctx, r, req.Timeout, req.Signal)
}

func (s *containersService) Restart(ctx context.Context, req *agentv1.StopContainerRequest) (*emptypb.Empty, error) {
	r, err := s.e.store.get(req.Id)
	if err != nil {
		return nil, err
	}
	unlock := s.e.lock(r.ID)
	err = s.e.stop(ctx, r, req.Timeout, req.Signal)
	unlock()
	if err != nil {
		return nil, err
	}
	if err := s.e.start(ctx, r.ID); err != nil {
		return nil, err
	}
	s.e.publish(r, "restart", nil)
	return emptyResp, nil
}

func (s *containersService) Kill(ctx context.Context, req *agentv1.KillContainerRequest) (*emptypb.Empty, error) {
	r, err := s.e.store.get(req.Id)
	if err != nil {
		return nil, err
	}
	return emptyResp, s.e.kill(ctx, r, req.Signal)
}

func (s *containersService) Remove(ctx context.Context, req *agentv1.RemoveContainerRequest) (*emptypb.Empty, error) {
	if req.Link {
		return nil, newKindError(errdefs.ErrNotImplemented, "links are not supported: remove the container instead")
	}
	return emptyResp, s.e.remove(ctx, req.Id, req.Force, req.Volumes)
}

func (s *containersService) Inspect(ctx context.Context, req *agentv1.InspectContainerRequest) (*agentv1.InspectContainerResponse, error) {
	r, err := s.e.store.get(req.Id)
	if err != nil {
		return nil, err
	}
	doc := s.e.inspect(ctx, r, req.Size)
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return &agentv1.InspectContainerResponse{Json: b}, nil
}

func (s *containersService) Wait(ctx context.Context, req *agentv1.WaitContainerRequest) (*agentv1.WaitContainerResponse, error) {
	code, err := s.e.wait(ctx, req.Id, req.Condition)
	if err != nil {
		return nil, err
	}
	return &agentv1.WaitContainerResponse{StatusCode: code}, nil
}

func (s *containersService) Attach(ctx context.Context, req *agentv1.AttachContainerRequest) (*emptypb.Empty, error) {
	r, err := s.e.store.get(req.Id)
	if err != nil {
		return nil, err
	}
	conn, err := s.streams.wait(ctx, req.StreamId)
	if err != nil {
		return nil, err
	}
	if err := s.e.attach(ctx, r, conn, req); err != nil {
		conn.Close()
		return nil, err
	}
	return emptyResp, nil
}

func (s *containersService) Resize(ctx context.Context, req *agentv1.ResizeRequest) (*emptypb.Empty, error) {
	w, h := uint16(req.Width), uint16(req.Height)
	if req.ExecId != "" {
		x, err := s.e.getExec(req.ExecId)
		if err != nil {
			return nil, err
		}
		return emptyResp, x.exec.Resize(ctx, w, h)
	}
	r, err := s.e.store.get(req.Id)
	if err != nil {
		return nil, err
	}
	c, err := s.e.runtimeContainer(r)
	if err != nil {
		return nil, err
	}
	return emptyResp, c.Resize(ctx, w, h)
}

func (s *containersService) Logs(ctx context.Context, req *agentv1.LogsRequest) (*emptypb.Empty, error) {
	r, err := s.e.store.get(req.Id)
	if err != nil {
		return nil, err
	}
	if err := validateLogsRequest(r, req); err != nil {
		return nil, err
	}
	conn, err := s.streams.wait(ctx, req.StreamId)
	if err != nil {
		return nil, err
	}
	s.e.goOwned(func(ctx context.Context) { s.e.logs(ctx, r, conn, req) })
	return emptyResp, nil
}

func (s *containersService) ExecCreate(ctx context.Context, req *agentv1.ExecCreateRequest) (*agentv1.ExecCreateResponse, error) {
	r, err := s.e.store.get(req.Id)
	if err != nil {
		return nil, err
	}
	id, err := s.e.execCreate(ctx, r, req.Config)
	if err != nil {
		return nil, err
	}
	return &agentv1.ExecCreateResponse{ExecId: id}, nil
}

func (s *containersService) ExecStart(ctx context.Context, req *agentv1.ExecStartRequest) (*emptypb.Empty, error) {
	x, err := s.e.getExec(req.ExecId)
	if err != nil {
		return nil, err
	}
	var conn net.Conn
	if !req.Detach {
		if conn, err = s.streams.wait(ctx, req.StreamId); err != nil {
			return nil, err
		}
	}
	if err := s.e.execStart(ctx, x, conn, uint16(req.Width), uint16(req.Height)); err != nil {
		if conn != nil {
			conn.Close()
		}
		return nil, err
	}
	return emptyResp, nil
}

func (s *containersService) ExecInspect(ctx context.Context, req *agentv1.ExecInspectRequest) (*agentv1.ExecInspectResponse, error) {
	x, err := s.e.getExec(req.ExecId)
	if err != nil {
		return nil, err
	}
	doc := x.inspect()
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	resp := &agentv1.ExecInspectResponse{Json: b, Running: doc.Running, Pid: int64(doc.Pid)}
	if doc.ExitCode != nil {
		resp.ExitCode = int64(*doc.ExitCode)
	}
	return resp, nil
}

func (s *containersService) Pause(ctx context.Context, req *agentv1.ContainerRequest) (*emptypb.Empty, error) {
	return emptyResp, s.e.pause(ctx, req.Id, true)
}

func (s *containersService) Unpause(ctx context.Context, req *agentv1.ContainerRequest) (*emptypb.Empty, error) {
	return emptyResp, s.e.pause(ctx, req.Id, false)
}

func (s *containersService) Stats(ctx context.Context, req *agentv1.StatsRequest, ss agentv1.TTRPCContainers_StatsServer) error {
	r, err := s.e.store.get(req.Id)
	if err != nil {
		return toStatus(err)
	}
	return toStatus(s.e.stats(ctx, r, req.Stream, func(b []byte) error {
		return ss.Send(&agentv1.StatsResponse{Json: b})
	}))
}

func (s *containersService) Top(ctx context.Context, req *agentv1.TopRequest) (*agentv1.TopResponse, error) {
	r, err := s.e.store.get(req.Id)
	if err != nil {
		return nil, err
	}
	c, err := s.e.runtimeContainer(r)
	if err != nil {
		return nil, err
	}
	if st := c.State(ctx).Status; st != container.StatusRunning && st != container.StatusPaused {
		return nil, newKindError(errdefs.ErrConflict, "container %s is not running", r.ID)
	}
	top, err := c.Top(ctx)
	if err != nil {
		return nil, err
	}
	resp := &agentv1.TopResponse{Titles: top.Titles}
	for _, p := range top.Processes {
		resp.Processes = append(resp.Processes, &agentv1.TopProcess{Fields: p})
	}
	return resp, nil
}

func (s *containersService) Rename(ctx context.Context, req *agentv1.RenameRequest) (*emptypb.Empty, error) {
	return emptyResp, s.e.rename(ctx, req.Id, req.Name)
}

func (s *containersService) Changes(ctx context.Context, req *agentv1.ContainerRequest) (*agentv1.ChangesResponse, error) {
	r, err := s.e.store.get(req.Id)
	if err != nil {
		return nil, err
	}
	return s.e.changes(r)
}

func (s *containersService) Commit(ctx context.Context, req *agentv1.CommitRequest) (*agentv1.CommitResponse, error) {
	r, err := s.e.store.get(req.Id)
	if err != nil {
		return nil, err
	}
	id, err := s.e.commit(ctx, r, req)
	if err != nil {
		return nil, err
	}
	return &agentv1.CommitResponse{ImageId: id}, nil
}

func (s *containersService) CopyFrom(ctx context.Context, req *agentv1.CopyRequest) (*agentv1.PathStat, error) {
	r, err := s.e.store.get(req.Id)
	if err != nil {
		return nil, err
	}
	return s.e.copyFrom(ctx, r, req, s.streams)
}

func (s *containersService) CopyTo(ctx context.Context, req *agentv1.CopyRequest) (*emptypb.Empty, error) {
	r, err := s.e.store.get(req.Id)
	if err != nil {
		return nil, err
	}
	return emptyResp, s.e.copyTo(ctx, r, req, s.streams)
}

func (s *containersService) Prune(ctx context.Context, req *agentv1.PruneRequest) (*agentv1.PruneResponse, error) {
	return s.e.prune(ctx, req.Filters)
}

func (s *containersService) List(ctx context.Context, req *agentv1.ListContainersRequest) (*agentv1.ListContainersResponse, error) {
	return s.e.list(ctx, req)
}
