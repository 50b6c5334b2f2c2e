package image

import (
	"context"
	"time"
)

// HistoryEntry is one line of docker history.
type HistoryEntry struct {
	// ID is the image id on the newest entry and on the entries a stored
	// parent image ends at (a build's steps), "<missing>" on the others, as
	// docker shows it.
	ID        string
	Created   time.Time
	CreatedBy string
	// Size is the unpacked size of the layer the entry made; 0 for entries
	// that only changed the config.
	Size    int64
	Comment string
	Tags    []string
}

// History returns ref's history from its config, newest first, each entry
// that made a layer paired with that layer's unpacked size. An image whose
// config has no history gets one entry per layer.
func (s *Store) History(ctx context.Context, ref string) ([]HistoryEntry, error) {
	img, cf, err := s.Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	size := func(layer int) int64 {
		if layer >= len(img.ChainIDs) {
			return 0
		}
		n, err := s.snaps.Usage(img.ChainIDs[layer])
		if err != nil {
			return 0
		}
		return n
	}
	var out []HistoryEntry
	layer := 0
	for _, h := range cf.History {
		e := HistoryEntry{ID: "<missing>", Created: h.Created.Time, CreatedBy: h.CreatedBy, Comment: h.Comment}
		if !h.EmptyLayer {
			e.Size = size(layer)
			layer++
		}
		out = append(out, e)
	}
	for ; layer < len(img.ChainIDs); layer++ { // layers the history does not describe
		out = append(out, HistoryEntry{ID: "<missing>", Created: img.Created, Size: size(layer)})
	}
	if len(out) > 0 {
		out[len(out)-1].ID, out[len(out)-1].Tags = img.ID, img.RepoTags
	}
	s.parentIDs(ctx, img.Parent, out)
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// parentIDs names the entries (oldest first) that a stored parent image
// ends at, as docker shows a build's intermediate images; entries of
// layers pulled from elsewhere stay "<missing>".
func (s *Store) parentIDs(ctx context.Context, parent string, out []HistoryEntry) {
	for seen := 0; parent != "" && seen < len(out); seen++ {
		pimg, pcf, err := s.Resolve(ctx, parent)
		if err != nil {
			return
		}
		if n := len(pcf.History); n > 0 && n <= len(out) && out[n-1].ID == "<missing>" {
			out[n-1].ID, out[n-1].Tags = pimg.ID, pimg.RepoTags
		}
		parent = pimg.Parent
	}
}
