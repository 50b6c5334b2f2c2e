//go:build linux

package agent

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/containerd/errdefs"
	ntypes "github.com/moby/moby/api/types/network"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/berth-dev/berth/guest/network"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// networksService implements agentv1.TTRPCNetworksService over
// guest/network's Manager; Connect and Disconnect go through the engine.
type networksService struct {
	e *engine
}

var _ agentv1.TTRPCNetworksService = (*networksService)(nil)

func (s *networksService) Create(ctx context.Context, req *agentv1.CreateNetworkRequest) (*agentv1.CreateNetworkResponse, error) {
	n, err := s.e.nets.Create(ctx, network.CreateOptions{
		Name: req.Name, Driver: req.Driver, Subnet: req.Subnet, Gateway: req.Gateway, IPRange: req.IpRange,
		Internal: req.Internal, Labels: req.Labels, Options: req.Options,
	})
	if err != nil {
		return nil, err
	}
	s.e.events.publish("network", "create", n.ID, map[string]string{"name": n.Name, "type": n.Driver})
	return &agentv1.CreateNetworkResponse{Id: n.ID}, nil
}

func (s *networksService) List(ctx context.Context, req *agentv1.ListNetworksRequest) (*agentv1.ListNetworksResponse, error) {
	match, err := networkFilter(req.Filters)
	if err != nil {
		return nil, err
	}
	nets, err := s.e.nets.List(ctx)
	if err != nil {
		return nil, err
	}
	resp := &agentv1.ListNetworksResponse{}
	for _, n := range nets {
		if !match(n) {
			continue
		}
		sum := &agentv1.NetworkSummary{Id: n.ID, Name: n.Name, Driver: n.Driver, Scope: "local", Internal: n.Internal, Labels: n.Labels}
		if n.Subnet.IsValid() {
			sum.Subnet, sum.Gateway = n.Subnet.String(), n.Gateway.String()
		}
		resp.Networks = append(resp.Networks, sum)
	}
	return resp, nil
}

func (s *networksService) Inspect(ctx context.Context, req *agentv1.InspectNetworkRequest) (*agentv1.InspectNetworkResponse, error) {
	n, err := s.e.nets.Inspect(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(s.e.networkInspect(n))
	if err != nil {
		return nil, err
	}
	return &agentv1.InspectNetworkResponse{Json: b}, nil
}

// networkInspect is docker's network.Inspect document.
func (e *engine) networkInspect(n *network.Network) ntypes.Inspect {
	doc := ntypes.Inspect{
		Network: ntypes.Network{
			Name: n.Name, ID: n.ID, Created: n.Created, Scope: "local", Driver: n.Driver, EnableIPv4: true,
			IPAM: ntypes.IPAM{Driver: "default", Config: []ntypes.IPAMConfig{}}, Internal: n.Internal,
			Attachable: false, Options: n.Options, Labels: n.Labels,
		},
		Containers: map[string]ntypes.EndpointResource{},
	}
	if doc.Options == nil {
		doc.Options = map[string]string{}
	}
	if doc.Labels == nil {
		doc.Labels = map[string]string{}
	}
	if n.Subnet.IsValid() {
		doc.IPAM.Config = append(doc.IPAM.Config, ntypes.IPAMConfig{Subnet: n.Subnet, Gateway: n.Gateway, IPRange: n.IPRange})
	}
	for cid, ep := range n.Endpoints {
		res := ntypes.EndpointResource{Name: ep.Name, EndpointID: ep.ID, MacAddress: ntypes.HardwareAddr(ep.HardwareAddr()), IPv4Address: ep.IP}
		if r, err := e.store.get(cid); err == nil {
			res.Name = r.Name
		}
		doc.Containers[cid] = res
	}
	return doc
}

func (s *networksService) Remove(ctx context.Context, req *agentv1.RemoveNetworkRequest) (*emptypb.Empty, error) {
	n, err := s.e.nets.Inspect(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	if err := s.e.nets.Remove(ctx, req.Id); err != nil {
		return nil, err
	}
	s.e.events.publish("network", "destroy", n.ID, map[string]string{"name": n.Name, "type": n.Driver})
	return emptyResp, nil
}

func (s *networksService) Connect(ctx context.Context, req *agentv1.ConnectNetworkRequest) (*emptypb.Empty, error) {
	return emptyResp, s.e.connect(ctx, req)
}

func (s *networksService) Disconnect(ctx context.Context, req *agentv1.DisconnectNetworkRequest) (*emptypb.Empty, error) {
	return emptyResp, s.e.disconnect(ctx, req.Network, req.Container, req.Force)
}

func (s *networksService) Prune(ctx context.Context, req *agentv1.PruneNetworksRequest) (*agentv1.PruneNetworksResponse, error) {
	match, err := networkFilter(req.Filters)
	if err != nil {
		return nil, err
	}
	deleted, err := s.e.nets.Prune(ctx, network.PruneOptions{Filter: match})
	if err != nil {
		return nil, err
	}
	for _, name := range deleted {
		s.e.events.publish("network", "destroy", name, map[string]string{"name": name})
	}
	return &agentv1.PruneNetworksResponse{Deleted: deleted}, nil
}

// networkFilter turns docker's network filters into a predicate.
func networkFilter(filters []string) (func(*network.Network) bool, error) {
	var preds []func(*network.Network) bool
	for _, f := range filters {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, newKindError(errdefs.ErrInvalidArgument, "bad format of filter (expected name=value): %s", f)
		}
		switch k {
		case "name":
			preds = append(preds, func(n *network.Network) bool { return strings.Contains(n.Name, v) })
		case "id":
			preds = append(preds, func(n *network.Network) bool { return strings.HasPrefix(n.ID, v) })
		case "driver":
			preds = append(preds, func(n *network.Network) bool { return n.Driver == v })
		case "label":
			lk, lv, has := strings.Cut(v, "=")
			preds = append(preds, func(n *network.Network) bool {
				got, ok := n.Labels[lk]
				return ok && (!has || got == lv)
			})
		case "type":
			if v != "custom" && v != "builtin" {
				return nil, newKindError(errdefs.ErrInvalidArgument, "invalid filter: 'type'='%s'", v)
			}
			preds = append(preds, func(n *network.Network) bool { return n.Predefined() == (v == "builtin") })
		case "scope":
			preds = append(preds, func(*network.Network) bool { return v == "local" })
		default:
			return nil, newKindError(errdefs.ErrInvalidArgument, "invalid filter '%s'", k)
		}
	}
	return func(n *network.Network) bool {
		for _, p := range preds {
			if !p(n) {
				return false
			}
		}
		return true
	}, nil
}
