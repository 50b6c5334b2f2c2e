//go:build linux

package agent

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/google/go-containerregistry/pkg/authn"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/berth-dev/berth/guest/image"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// imagesService implements the Images service over the image store.
type imagesService struct {
	s     *Server
	store *image.Store
}

func newImagesService(ctx context.Context, s *Server) (*imagesService, error) {
	st, err := image.Open(ctx, s.opts.DataDir, s.db, image.WithInsecureRegistries(s.opts.InsecureRegistries...))
	if err != nil {
		return nil, fmt.Errorf("agent: image store: %w", err)
	}
	return &imagesService{s: s, store: st}, nil
}

// count returns the number of images, for Info.
func (y *imagesService) count(ctx context.Context) (int, error) { return y.store.Count(ctx) }

// close releases the store; the db is closed by the Server.
func (y *imagesService) close() {}

func (y *imagesService) Pull(ctx context.Context, req *agentv1.PullRequest, ss agentv1.TTRPCImages_PullServer) error {
	var sendErr error
	progress := func(p image.Progress) {
		if sendErr != nil {
			return
		}
		sendErr = ss.Send(&agentv1.PullProgress{Id: p.ID, Status: p.Status, Current: p.Current, Total: p.Total})
	}
	opts := []image.PullOption{image.WithPlatform(req.GetPlatform()), image.WithProgress(progress)}
	if a := req.GetAuth(); a != nil {
		opts = append(opts, image.WithAuth(authn.AuthConfig{
			Username: a.GetUsername(), Password: a.GetPassword(),
			IdentityToken: a.GetIdentityToken(), RegistryToken: a.GetRegistryToken(),
		}))
	}
	img, err := y.store.Pull(ctx, req.GetRef(), opts...)
	if err != nil {
		return toStatus(err)
	}
	if sendErr != nil {
		return toStatus(sendErr)
	}
	ref := req.GetRef()
	if r, err := image.ParseReference(ref); err == nil {
		ref = r.String()
	}
	y.s.events.publish("image", "pull", ref, map[string]string{"name": ref})
	return toStatus(ss.Send(&agentv1.PullProgress{Done: true, ImageId: img.ID, Digest: img.ManifestDigest, Ref: ref}))
}

func (y *imagesService) toProto(img *image.Image) *agentv1.Image {
	return &agentv1.Image{
		Id:             img.ID,
		RepoTags:       img.RepoTags,
		RepoDigests:    img.RepoDigests,
		Created:        timestamppb.New(img.Created),
		Size:           img.Size,
		Labels:         img.Labels,
		Containers:     int64(y.store.Containers(img.ID)),
		Parent:         img.Parent,
		ManifestDigest: img.ManifestDigest,
	}
}

func (y *imagesService) List(ctx context.Context, req *agentv1.ListImagesRequest) (*agentv1.ListImagesResponse, error) {
	imgs, err := y.store.List(ctx, image.ListOptions{All: req.GetAll(), Filters: req.GetFilters()})
	if err != nil {
		return nil, err
	}
	resp := &agentv1.ListImagesResponse{}
	for _, img := range imgs {
		resp.Images = append(resp.Images, y.toProto(img))
	}
	return resp, nil
}

func (y *imagesService) Inspect(ctx context.Context, req *agentv1.InspectImageRequest) (*agentv1.InspectImageResponse, error) {
	img, err := y.store.Get(ctx, req.GetRef())
	if err != nil {
		return nil, err
	}
	cfg, err := y.store.RawConfig(img)
	if err != nil {
		return nil, err
	}
	man, err := y.store.RawManifest(img)
	if err != nil {
		return nil, err
	}
	return &agentv1.InspectImageResponse{Image: y.toProto(img), Config: cfg, Manifest: man, Layers: img.DiffIDs, ChainIds: img.ChainIDs}, nil
}

func (y *imagesService) Remove(ctx context.Context, req *agentv1.RemoveImageRequest) (*agentv1.RemoveImageResponse, error) {
	items, err := y.store.Remove(ctx, req.GetRef(), image.RemoveOptions{Force: req.GetForce(), NoPrune: req.GetNoPrune()})
	if err != nil {
		return nil, err
	}
	return &agentv1.RemoveImageResponse{Items: y.deleteItems(items)}, nil
}

// deleteItems converts and publishes untag/delete events.
func (y *imagesService) deleteItems(items []image.DeleteItem) []*agentv1.ImageDeleteItem {
	out := make([]*agentv1.ImageDeleteItem, 0, len(items))
	for _, it := range items {
		if it.Untagged != "" {
			y.s.events.publish("image", "untag", it.Untagged, map[string]string{"name": it.Untagged})
		}
		if it.Deleted != "" {
			y.s.events.publish("image", "delete", it.Deleted, nil)
		}
		out = append(out, &agentv1.ImageDeleteItem{Untagged: it.Untagged, Deleted: it.Deleted})
	}
	return out
}

func (y *imagesService) Tag(ctx context.Context, req *agentv1.TagImageRequest) (*emptypb.Empty, error) {
	id, target, err := y.store.Tag(ctx, req.GetSource(), req.GetTarget())
	if err != nil {
		return nil, err
	}
	y.s.events.publish("image", "tag", id, map[string]string{"name": target})
	return &emptypb.Empty{}, nil
}

func (y *imagesService) Load(ctx context.Context, req *agentv1.LoadImageRequest) (*agentv1.LoadImageResponse, error) {
	c, err := y.s.streams.wait(ctx, req.GetStreamId())
	if err != nil {
		return nil, err
	}
	defer c.Close()
	loaded, err := y.store.Load(ctx, c)
	if err != nil {
		return nil, err
	}
	resp := &agentv1.LoadImageResponse{}
	for _, l := range loaded {
		if len(l.Tags) == 0 {
			resp.Loaded = append(resp.Loaded, "Loaded image ID: "+l.ID)
		}
		for _, t := range l.Tags {
			resp.Loaded = append(resp.Loaded, "Loaded image: "+image.FamiliarString(t))
		}
		y.s.events.publish("image", "load", l.ID, nil)
	}
	return resp, nil
}

func (y *imagesService) Save(ctx context.Context, req *agentv1.SaveImageRequest) (*emptypb.Empty, error) {
	c, err := y.s.streams.wait(ctx, req.GetStreamId())
	if err != nil {
		return nil, err
	}
	err = y.store.Save(ctx, req.GetRefs(), c)
	if cerr := c.Close(); err == nil && cerr != nil && !errors.Is(cerr, io.ErrClosedPipe) {
		log.G(ctx).WithError(cerr).Debug("closing save stream")
	}
	if err != nil {
		return nil, err
	}
	for _, r := range req.GetRefs() {
		y.s.events.publish("image", "save", r, nil)
	}
	return &emptypb.Empty{}, nil
}

func (y *imagesService) Prune(ctx context.Context, req *agentv1.PruneImagesRequest) (*agentv1.PruneImagesResponse, error) {
	items, reclaimed, err := y.store.Prune(ctx, req.GetAll(), req.GetFilters())
	if err != nil {
		if errdefs.IsInvalidArgument(err) {
			return nil, err
		}
		return nil, fmt.Errorf("image prune: %w", err)
	}
	y.s.events.publish("image", "prune", "", map[string]string{"reclaimed": fmt.Sprint(reclaimed)})
	return &agentv1.PruneImagesResponse{Deleted: y.deleteItems(items), SpaceReclaimed: reclaimed}, nil
}
