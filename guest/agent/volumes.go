//go:build linux

package agent

import (
	"context"
	"fmt"
	"strings"

	"github.com/containerd/errdefs"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/berth-dev/berth/guest/volume"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// volumesService implements agentv1.TTRPCVolumesService over guest/volume.
type volumesService struct {
	store  *volume.Store
	events *eventBus
}

var _ agentv1.TTRPCVolumesService = (*volumesService)(nil)

func (v *volumesService) Create(ctx context.Context, r *agentv1.CreateVolumeRequest) (*agentv1.Volume, error) {
	existed := false
	if r.Name != "" {
		_, err := v.store.Get(ctx, r.Name)
		existed = err == nil
	}
	vol, err := v.store.Create(ctx, volume.CreateOptions{Name: r.Name, Driver: r.Driver, Options: r.DriverOpts, Labels: r.Labels})
	if err != nil {
		return nil, err
	}
	if !existed {
		v.events.publish("volume", "create", vol.Name, map[string]string{"driver": vol.Driver})
	}
	return v.toProto(vol, false), nil
}

func (v *volumesService) List(ctx context.Context, r *agentv1.ListVolumesRequest) (*agentv1.ListVolumesResponse, error) {
	match, err := volumeFilter(r.Filters, v.store)
	if err != nil {
		return nil, err
	}
	vols, err := v.store.List(ctx)
	if err != nil {
		return nil, err
	}
	resp := &agentv1.ListVolumesResponse{}
	for _, vol := range vols {
		if match(vol) {
			resp.Volumes = append(resp.Volumes, v.toProto(vol, false))
		}
	}
	return resp, nil
}

func (v *volumesService) Inspect(ctx context.Context, r *agentv1.InspectVolumeRequest) (*agentv1.Volume, error) {
	vol, err := v.store.Get(ctx, r.Name)
	if err != nil {
		return nil, fmt.Errorf("get %s: no such volume: %w", r.Name, errdefs.ErrNotFound)
	}
	return v.toProto(vol, true), nil
}

func (v *volumesService) Remove(ctx context.Context, r *agentv1.RemoveVolumeRequest) (*emptypb.Empty, error) {
	if err := v.store.Remove(ctx, r.Name, r.Force); err != nil {
		return nil, err
	}
	v.events.publish("volume", "destroy", r.Name, nil)
	return &emptypb.Empty{}, nil
}

func (v *volumesService) Prune(ctx context.Context, r *agentv1.PruneVolumesRequest) (*agentv1.PruneVolumesResponse, error) {
	all := r.All
	var rest []string
	for _, f := range r.Filters {
		if f == "all=true" || f == "all=1" {
			all = true
			continue
		}
		rest = append(rest, f)
	}
	match, err := volumeFilter(rest, v.store)
	if err != nil {
		return nil, err
	}
	deleted, freed, err := v.store.Prune(ctx, all, match)
	if err != nil {
		return nil, err
	}
	for _, name := range deleted {
		v.events.publish("volume", "destroy", name, nil)
	}
	return &agentv1.PruneVolumesResponse{Deleted: deleted, SpaceReclaimed: freed}, nil
}

func (v *volumesService) toProto(vol *volume.Volume, withSize bool) *agentv1.Volume {
	size := int64(-1)
	if withSize {
		size = volume.DirSize(vol.Mountpoint)
	}
	return &agentv1.Volume{
		Name:       vol.Name,
		Driver:     vol.Driver,
		Mountpoint: vol.Mountpoint,
		CreatedAt:  timestamppb.New(vol.CreatedAt),
		Labels:     vol.Labels,
		Options:    vol.Options,
		Scope:      "local",
		Size:       size,
		RefCount:   int64(len(v.store.InUse(vol.Name))),
		Anonymous:  vol.Anonymous,
	}
}

// volumeFilter turns docker's volume filters into a predicate.
func volumeFilter(filters []string, store *volume.Store) (func(*volume.Volume) bool, error) {
	var preds []func(*volume.Volume) bool
	for _, f := range filters {
		key, val, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("bad format of filter (expected name=value): %q: %w", f, errdefs.ErrInvalidArgument)
		}
		switch key {
		case "dangling":
			want := val == "true" || val == "1"
			if !want && val != "false" && val != "0" {
				return nil, fmt.Errorf("invalid filter 'dangling=%s': %w", val, errdefs.ErrInvalidArgument)
			}
			preds = append(preds, func(v *volume.Volume) bool { return (len(store.InUse(v.Name)) == 0) == want })
		case "name":
			preds = append(preds, func(v *volume.Volume) bool { return strings.Contains(v.Name, val) })
		case "driver":
			preds = append(preds, func(v *volume.Volume) bool { return v.Driver == val })
		case "label":
			lk, lv, hasVal := strings.Cut(val, "=")
			preds = append(preds, func(v *volume.Volume) bool {
				got, ok := v.Labels[lk]
				return ok && (!hasVal || got == lv)
			})
		default:
			return nil, fmt.Errorf("invalid filter '%s': %w", key, errdefs.ErrInvalidArgument)
		}
	}
	return func(v *volume.Volume) bool {
		for _, p := range preds {
			if !p(v) {
				return false
			}
		}
		return true
	}, nil
}
