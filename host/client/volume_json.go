package client

import (
	"time"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// volumeJSON is docker's volume inspect document (fields in docker's order).
type volumeJSON struct {
	CreatedAt  string            `json:"CreatedAt,omitempty"`
	Driver     string            `json:"Driver"`
	Labels     map[string]string `json:"Labels"`
	Mountpoint string            `json:"Mountpoint"`
	Name       string            `json:"Name"`
	Options    map[string]string `json:"Options"`
	Scope      string            `json:"Scope"`
}

func newVolumeJSON(v *agentv1.Volume) volumeJSON {
	j := volumeJSON{
		Driver: v.Driver, Labels: v.Labels, Mountpoint: v.Mountpoint, Name: v.Name, Options: v.Options, Scope: v.Scope,
	}
	if v.CreatedAt != nil {
		j.CreatedAt = v.CreatedAt.AsTime().UTC().Format(time.RFC3339)
	}
	if j.Scope == "" {
		j.Scope = "local"
	}
	if len(j.Labels) == 0 {
		j.Labels = nil // docker shows null
	}
	if len(j.Options) == 0 {
		j.Options = nil
	}
	return j
}
