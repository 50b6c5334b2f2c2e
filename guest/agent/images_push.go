//go:build linux

package agent

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/berth-dev/berth/guest/image"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// Push uploads images to their registry, streaming docker's push progress.
func (y *imagesService) Push(ctx context.Context, req *agentv1.PushRequest, ss agentv1.TTRPCImages_PushServer) error {
	var sendErr error
	progress := func(p image.Progress) {
		if sendErr == nil {
			sendErr = ss.Send(&agentv1.PullProgress{Id: p.ID, Status: p.Status, Current: p.Current, Total: p.Total})
		}
	}
	opts := []image.PullOption{image.WithProgress(progress)}
	if a := req.GetAuth(); a != nil {
		opts = append(opts, image.WithAuth(authn.AuthConfig{
			Username: a.GetUsername(), Password: a.GetPassword(),
			IdentityToken: a.GetIdentityToken(), RegistryToken: a.GetRegistryToken(),
		}))
	}
	pushed, err := y.store.Push(ctx, req.GetRef(), req.GetAllTags(), opts...)
	for _, p := range pushed {
		if sendErr == nil {
			sendErr = ss.Send(&agentv1.PullProgress{Status: fmt.Sprintf("%s: digest: %s size: %d", p.Tag, p.Digest, p.Size)})
		}
		y.s.events.publish("image", "push", req.GetRef(), map[string]string{"name": req.GetRef()})
	}
	if err != nil {
		return toStatus(err)
	}
	if sendErr != nil {
		return toStatus(sendErr)
	}
	last := pushed[len(pushed)-1]
	return toStatus(ss.Send(&agentv1.PullProgress{Done: true, Digest: last.Digest, Ref: req.GetRef()}))
}

// History lists an image's layers, newest first (docker history).
func (y *imagesService) History(ctx context.Context, req *agentv1.InspectImageRequest) (*agentv1.HistoryResponse, error) {
	entries, err := y.store.History(ctx, req.GetRef())
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &agentv1.HistoryResponse{}
	for _, e := range entries {
		it := &agentv1.HistoryItem{Id: e.ID, CreatedBy: e.CreatedBy, Size: e.Size, Comment: e.Comment, Tags: e.Tags}
		if !e.Created.IsZero() {
			it.Created = timestamppb.New(e.Created)
		}
		resp.Items = append(resp.Items, it)
	}
	return resp, nil
}

// Login checks registry credentials for docker login.
func (y *imagesService) Login(ctx context.Context, req *agentv1.LoginRequest) (*emptypb.Empty, error) {
	a := req.GetAuth()
	cfg := authn.AuthConfig{Username: a.GetUsername(), Password: a.GetPassword(),
		IdentityToken: a.GetIdentityToken(), RegistryToken: a.GetRegistryToken()}
	if err := y.store.Login(ctx, req.GetServer(), cfg); err != nil {
		return nil, toStatus(err)
	}
	return &emptypb.Empty{}, nil
}
