package machine

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"

	"github.com/berth-dev/berth/host/forward"
	"github.com/berth-dev/berth/host/internal/errkind"
	"github.com/berth-dev/berth/proto/stream"
)

// The daemon control channel: a connection to the machine daemon's socket
// whose header has kind stream.KindDaemon is answered by the daemon itself.
// It carries newline-delimited JSON, one response per request, in order
// (see proto/PROTOCOL.md):
//
//	{"op":"sync","container":"<id>"}   make the container's forwards match it
//	{"op":"list"}                      every forward
//
// and each response is {"forwards":[...]} or {"error":"...","kind":"conflict"}.

// controlIdle bounds how long a control connection may wait for a request.
const controlIdle = 2 * time.Minute

// Control operations.
const (
	opSync = "sync"
	opList = "list"
)

type controlRequest struct {
	Op        string `json:"op"`
	Container string `json:"container,omitempty"`
}

type controlResponse struct {
	Forwards []controlForward `json:"forwards"`
	Error    string           `json:"error,omitempty"`
	// Kind is the errdefs kind of Error: "conflict", "not found",
	// "invalid argument", "unavailable", or "" for any other.
	Kind string `json:"kind,omitempty"`
}

// controlForward is one bound host address.
type controlForward struct {
	Container     string `json:"container"`
	Proto         string `json:"proto"`
	HostIP        string `json:"hostIP"`
	HostPort      uint16 `json:"hostPort"`
	ContainerPort uint16 `json:"containerPort"`
}

// errorKinds are the errdefs kinds that travel by name.
var errorKinds = []struct {
	name string
	kind error
}{
	{"conflict", errdefs.ErrConflict},
	{"not found", errdefs.ErrNotFound},
	{"invalid argument", errdefs.ErrInvalidArgument},
	{"unavailable", errdefs.ErrUnavailable},
	{"failed precondition", errdefs.ErrFailedPrecondition},
}

// serveControl answers control requests on c until it closes or idles.
func (pm *portManager) serveControl(ctx context.Context, c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	enc := json.NewEncoder(c)
	for {
		c.SetReadDeadline(time.Now().Add(controlIdle))
		line, err := r.ReadBytes('\n')
		if err != nil {
			return
		}
		var req controlRequest
		resp := controlResponse{Forwards: []controlForward{}}
		if err := json.Unmarshal(line, &req); err != nil {
			resp.Error, resp.Kind = "bad control request: "+err.Error(), "invalid argument"
		} else {
			resp = pm.handle(ctx, req)
		}
		if err := enc.Encode(resp); err != nil {
			log.G(ctx).WithError(err).Debug("control reply")
			return
		}
	}
}

func (pm *portManager) handle(ctx context.Context, req controlRequest) controlResponse {
	var fws []forward.Forward
	var err error
	switch req.Op {
	case opSync:
		if req.Container == "" {
			err = errkind.New(errdefs.ErrInvalidArgument, "sync: no container given")
			break
		}
		fws, err = pm.Sync(ctx, req.Container)
	case opList:
		fws = pm.List()
	default:
		err = errkind.New(errdefs.ErrInvalidArgument, "unknown control op %q (want sync or list)", req.Op)
	}
	resp := controlResponse{Forwards: make([]controlForward, 0, len(fws))}
	for _, f := range fws {
		resp.Forwards = append(resp.Forwards, controlForward{Container: f.ContainerID, Proto: f.Proto,
			HostIP: f.HostIP.String(), HostPort: f.HostPort, ContainerPort: f.ContainerPort})
	}
	if err != nil {
		resp.Error = err.Error()
		for _, k := range errorKinds {
			if errors.Is(err, k.kind) {
				resp.Kind = k.name
				break
			}
		}
	}
	return resp
}

// SyncForwards asks the machine daemon reached through dial to make the
// port forwards of container id match the container (published while it
// runs, gone otherwise) and returns the bound host addresses. A host port
// in use is errdefs.ErrConflict with docker's message ("Bind for
// 127.0.0.1:8080 failed: port is already allocated").
func SyncForwards(ctx context.Context, dial stream.Dial, id string) ([]forward.Forward, error) {
	return control(ctx, dial, controlRequest{Op: opSync, Container: id})
}

// ListForwards returns every port forward of the machine daemon reached
// through dial, with the host ports actually bound.
func ListForwards(ctx context.Context, dial stream.Dial) ([]forward.Forward, error) {
	return control(ctx, dial, controlRequest{Op: opList})
}

func control(ctx context.Context, dial stream.Dial, req controlRequest) ([]forward.Forward, error) {
	c, err := stream.Open(dial, stream.Header{Kind: stream.KindDaemon})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	if _, err := c.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("machine daemon: %w", err)
	}
	var resp controlResponse
	if err := json.NewDecoder(bufio.NewReader(c)).Decode(&resp); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, errkind.New(errdefs.ErrUnavailable, "the machine daemon did not answer a %s request (is it older than this berth? restart it: berth machine stop && berth machine start): %v", req.Op, err)
	}
	if resp.Error != "" {
		var kind error = errdefs.ErrUnknown
		for _, k := range errorKinds {
			if k.name == resp.Kind {
				kind = k.kind
			}
		}
		return nil, errkind.New(kind, "%s", resp.Error)
	}
	out := make([]forward.Forward, 0, len(resp.Forwards))
	for _, f := range resp.Forwards {
		ip, err := netip.ParseAddr(f.HostIP)
		if err != nil {
			return nil, fmt.Errorf("machine daemon sent a bad forward address %q", f.HostIP)
		}
		out = append(out, forward.Forward{ContainerID: f.Container, Binding: forward.Binding{
			Proto: f.Proto, HostIP: ip, HostPort: f.HostPort, ContainerPort: f.ContainerPort}})
	}
	return out, nil
}
