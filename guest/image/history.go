package image

import (
	"context"
	"time"
)

// HistoryEntry is one line of docker history.
type HistoryEntry struct {
	// ID is the image id on the newest entry and "<missing>" on the others,
	// as docker shows history for pulled images.
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
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	if len(out) > 0 {
		out[0].ID, out[0].Tags = img.ID, img.RepoTags
	}
	return out, nil
}
