package machine

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"

	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/containerd/ttrpc"
	ctypes "github.com/moby/moby/api/types/container"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/berth-dev/berth/host/forward"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
	"github.com/berth-dev/berth/proto/stream"
)

// agentSource is the containerSource of a running agent: each call opens
// its own ttrpc connection with dial (one more unix or vsock connection,
// nothing kept open between calls but the event stream).
type agentSource struct {
	dial func(ctx context.Context) (net.Conn, error)
}

var _ containerSource = agentSource{}

func (a agentSource) client(ctx context.Context) (*ttrpc.Client, error) {
	return ttrpcClient(ctx, a.dial)
}

// ttrpcClient opens a ttrpc connection to the agent: a connection from dial
// with the stream header of kind ttrpc.
func ttrpcClient(ctx context.Context, dial func(context.Context) (net.Conn, error)) (*ttrpc.Client, error) {
	conn, err := stream.Open(func() (net.Conn, error) { return dial(ctx) }, stream.Header{Kind: stream.KindTTRPC})
	if err != nil {
		return nil, err
	}
	return ttrpc.NewClient(conn), nil
}

// Running lists the containers that are up.
func (a agentSource) Running(ctx context.Context) ([]string, error) {
	cl, err := a.client(ctx)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	r, err := agentv1.NewTTRPCContainersClient(cl).List(ctx, &agentv1.ListContainersRequest{})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", errgrpc.ToNative(err))
	}
	ids := make([]string, 0, len(r.Containers))
	for _, c := range r.Containers {
		ids = append(ids, c.Id)
	}
	return ids, nil
}

// Published inspects container id.
func (a agentSource) Published(ctx context.Context, id string) (published, error) {
	cl, err := a.client(ctx)
	if err != nil {
		return published{}, err
	}
	defer cl.Close()
	r, err := agentv1.NewTTRPCContainersClient(cl).Inspect(ctx, &agentv1.InspectContainerRequest{Id: id})
	if err != nil {
		return published{}, fmt.Errorf("inspect container %s: %w", id, errgrpc.ToNative(err))
	}
	var doc ctypes.InspectResponse
	if err := json.Unmarshal(r.Json, &doc); err != nil {
		return published{}, fmt.Errorf("inspect container %s: %w", id, err)
	}
	return publishedOf(&doc)
}

// publishedOf reads what an inspect document publishes.
func publishedOf(doc *ctypes.InspectResponse) (published, error) {
	p := published{ID: doc.ID}
	if doc.State != nil {
		p.Up = doc.State.Running && !doc.State.Restarting
	}
	if doc.HostConfig == nil || doc.Config == nil {
		return p, nil
	}
	p.HostNetwork = doc.HostConfig.NetworkMode.IsHost()
	bs, err := forward.ContainerBindings(doc.Config.ExposedPorts, doc.HostConfig.PortBindings, doc.HostConfig.PublishAllPorts)
	if err != nil {
		return p, fmt.Errorf("container %s: %w", shortID(doc.ID), err)
	}
	p.Bindings = bs
	return p, nil
}

// Events follows the agent's container events.
func (a agentSource) Events(ctx context.Context, ready func(), fn func(id, action string)) error {
	cl, err := a.client(ctx)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := agentv1.NewTTRPCSystemClient(cl).Events(ctx, &agentv1.EventsRequest{Types: []string{"container"}})
	if err != nil {
		return errgrpc.ToNative(err)
	}
	ready()
	for {
		ev, err := st.Recv()
		if err != nil {
			return errgrpc.ToNative(err)
		}
		if ev.Type == "container" {
			// exec_start: ..., health_status: ... carry a suffix.
			action, _, _ := strings.Cut(ev.Action, ":")
			fn(ev.Id, action)
		}
	}
}

// ListeningPorts asks the agent for its namespace's listening ports.
func (a agentSource) ListeningPorts(ctx context.Context) ([]listeningPort, error) {
	cl, err := a.client(ctx)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	r, err := agentv1.NewTTRPCSystemClient(cl).ListeningPorts(ctx, &emptypb.Empty{})
	if err != nil {
		return nil, errgrpc.ToNative(err)
	}
	var out []listeningPort
	for _, p := range r.Ports {
		if (p.Proto == forward.TCP || p.Proto == forward.UDP) && p.Port > 0 && p.Port <= 65535 {
			out = append(out, listeningPort{Proto: p.Proto, Port: uint16(p.Port)})
		}
	}
	return out, nil
}
