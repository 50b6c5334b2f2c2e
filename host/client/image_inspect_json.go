package client

import (
	"encoding/json"
	"fmt"
	"time"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// imageInspect is docker's `image inspect` object (API 1.4x), built on the
// host from the agent's record and the raw OCI image config.
type imageInspect struct {
	ID            string `json:"Id"`
	RepoTags      []string
	RepoDigests   []string
	Parent        string
	Comment       string
	Created       string `json:",omitempty"`
	DockerVersion string
	Author        string
	Config        *containerConfig
	Architecture  string
	Variant       string `json:",omitempty"`
	Os            string
	OsVersion     string `json:",omitempty"`
	Size          int64
	GraphDriver   graphDriver
	RootFS        imageRootFS
	Metadata      imageMetadata
}

// containerConfig is docker's container.Config, in its field order.
type containerConfig struct {
	Hostname        string
	Domainname      string
	User            string
	AttachStdin     bool
	AttachStdout    bool
	AttachStderr    bool
	ExposedPorts    map[string]struct{} `json:",omitempty"`
	Tty             bool
	OpenStdin       bool
	StdinOnce       bool
	Env             []string
	Cmd             []string
	Healthcheck     json.RawMessage `json:",omitempty"`
	ArgsEscaped     bool            `json:",omitempty"`
	Image           string
	Volumes         map[string]struct{}
	WorkingDir      string
	Entrypoint      []string
	NetworkDisabled bool   `json:",omitempty"`
	MacAddress      string `json:",omitempty"`
	OnBuild         []string
	Labels          map[string]string
	StopSignal      string   `json:",omitempty"`
	StopTimeout     *int     `json:",omitempty"`
	Shell           []string `json:",omitempty"`
}

type graphDriver struct {
	Data map[string]string
	Name string
}

type imageRootFS struct {
	Type   string
	Layers []string `json:",omitempty"`
}

type imageMetadata struct {
	LastTagTime time.Time
}

// ociConfig is the part of an OCI / docker image config that inspect shows.
type ociConfig struct {
	Created       *time.Time       `json:"created,omitempty"`
	Author        string           `json:"author,omitempty"`
	Architecture  string           `json:"architecture"`
	Variant       string           `json:"variant,omitempty"`
	OS            string           `json:"os"`
	OSVersion     string           `json:"os.version,omitempty"`
	Comment       string           `json:"comment,omitempty"`
	DockerVersion string           `json:"docker_version,omitempty"`
	Config        *containerConfig `json:"config,omitempty"`
	RootFS        struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
}

// newImageInspect builds docker's inspect object from the agent's answer.
func newImageInspect(r *agentv1.InspectImageResponse) (*imageInspect, error) {
	var cfg ociConfig
	if len(r.Config) > 0 {
		if err := json.Unmarshal(r.Config, &cfg); err != nil {
			return nil, fmt.Errorf("image %s has an unreadable config: %w", r.GetImage().GetId(), err)
		}
	}
	img := r.GetImage()
	out := &imageInspect{
		ID:            img.GetId(),
		RepoTags:      []string{},
		RepoDigests:   []string{},
		Parent:        img.GetParent(),
		Comment:       cfg.Comment,
		DockerVersion: cfg.DockerVersion,
		Author:        cfg.Author,
		Config:        cfg.Config,
		Architecture:  cfg.Architecture,
		Variant:       cfg.Variant,
		Os:            cfg.OS,
		OsVersion:     cfg.OSVersion,
		Size:          img.GetSize(),
		GraphDriver:   graphDriver{Name: "overlay2"},
		RootFS:        imageRootFS{Type: "layers", Layers: r.Layers},
	}
	if out.Config == nil {
		out.Config = &containerConfig{}
	}
	if cfg.Created != nil {
		out.Created = cfg.Created.UTC().Format(time.RFC3339Nano)
	} else if img.GetCreated() != nil {
		out.Created = img.GetCreated().AsTime().UTC().Format(time.RFC3339Nano)
	}
	if len(out.RootFS.Layers) == 0 {
		out.RootFS.Layers = cfg.RootFS.DiffIDs
	}
	for _, t := range img.GetRepoTags() {
		if repo, tag, ok := splitRepoTag(t); ok {
			out.RepoTags = append(out.RepoTags, repo+":"+tag)
		}
	}
	for _, d := range img.GetRepoDigests() {
		if repo, dg, ok := splitRepoDigest(d); ok {
			out.RepoDigests = append(out.RepoDigests, repo+"@"+dg)
		}
	}
	return out, nil
}
