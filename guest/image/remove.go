package image

import (
	"context"
	"fmt"
	"slices"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	bolt "go.etcd.io/bbolt"
)

// DeleteItem is one line of rmi / prune output: a name untagged or an
// image deleted (normalized names; ids as sha256:...).
type DeleteItem struct {
	Untagged string
	Deleted  string
}

// Tag points target at the image source names and returns the image id and
// the normalized target.
func (s *Store) Tag(ctx context.Context, source, target string) (string, string, error) {
	t, err := ParseReference(target)
	if err != nil {
		return "", "", err
	}
	if t.Digest != "" {
		return "", "", fmt.Errorf("refusing to create a tag with a digest reference %q: %w", target, errdefs.ErrInvalidArgument)
	}
	s.meta.Lock()
	defer s.meta.Unlock()
	var id string
	err = s.db.Update(func(tx *bolt.Tx) error {
		id, err = lookup(tx, source)
		if err != nil {
			return err
		}
		return refsBucket(tx).Put([]byte(t.String()), []byte(id))
	})
	return id, t.String(), err
}

// RemoveOptions are rmi's flags.
type RemoveOptions struct {
	Force   bool
	NoPrune bool
}

// Remove is docker rmi: by name it untags, deleting the image when its last
// name goes; by id it deletes the image and all its names. An image named in
// several repositories, or used by containers, needs Force (ErrConflict
// otherwise); an image containers use is only untagged, never deleted.
func (s *Store) Remove(ctx context.Context, ref string, opts RemoveOptions) ([]DeleteItem, error) {
	s.meta.Lock()
	var items []DeleteItem
	var deleted *Image
	err := s.db.Update(func(tx *bolt.Tx) error {
		id, err := lookup(tx, ref)
		if err != nil {
			return err
		}
		img, err := getImage(tx, id)
		if err != nil {
			return err
		}
		kids, err := childCounts(tx)
		if err != nil {
			return err
		}
		items, deleted, err = s.removeTx(tx, ref, img, opts, kids)
		if err != nil || deleted == nil || opts.NoPrune {
			return err
		}
		more, err := s.pruneParentsTx(tx, deleted.Parent, kids)
		items = append(items, more...)
		return err
	})
	s.meta.Unlock()
	if err != nil {
		return nil, err
	}
	if deleted != nil {
		if _, err := s.GC(ctx); err != nil {
			log.G(ctx).WithError(err).Warn("image removed; freeing its layers failed")
		}
	}
	return items, nil
}

// removeTx removes ref's name or the image img; kids counts each image's
// children (childCounts) and is kept current when img goes.
func (s *Store) removeTx(tx *bolt.Tx, ref string, img *Image, opts RemoveOptions, kids map[string]int) ([]DeleteItem, *Image, error) {
	short := shortID(img.ID)
	users := s.containers(img.ID)
	byName := ""
	if r, err := ParseReference(ref); err == nil {
		for _, n := range append(append([]string{}, img.RepoTags...), img.RepoDigests...) {
			if n == r.String() {
				byName = n
			}
		}
	}
	if byName != "" {
		others := 0
		for _, t := range img.RepoTags {
			if t != byName {
				others++
			}
		}
		if others > 0 {
			return untagOne(tx, img, byName)
		}
		if users > 0 && !opts.Force {
			return nil, nil, errdefs.ErrConflict.WithMessage(fmt.Sprintf(
				"conflict: unable to remove repository reference %q (must force) - container is using its referenced image %s", FamiliarString(byName), short))
		}
	} else {
		if repos := distinctRepos(img.RepoTags); repos > 1 && !opts.Force {
			return nil, nil, errdefs.ErrConflict.WithMessage(fmt.Sprintf(
				"conflict: unable to delete %s (must be forced) - image is referenced in multiple repositories", short))
		}
		if users > 0 && !opts.Force {
			return nil, nil, errdefs.ErrConflict.WithMessage(fmt.Sprintf(
				"conflict: unable to delete %s (must be forced) - image is being used by %d container(s)", short, users))
		}
	}
	children := kids[img.ID]
	if children > 0 && byName == "" {
		return nil, nil, errdefs.ErrConflict.WithMessage(fmt.Sprintf(
			"conflict: unable to delete %s (cannot be forced) - image has dependent child images", short))
	}
	var items []DeleteItem
	for _, n := range append(append([]string{}, img.RepoTags...), img.RepoDigests...) {
		if err := refsBucket(tx).Delete([]byte(n)); err != nil {
			return nil, nil, err
		}
		items = append(items, DeleteItem{Untagged: n})
	}
	if users > 0 || children > 0 {
		return items, nil, nil // in use or a parent: keep the image, untagged
	}
	if err := tx.Bucket(bucketRoot).Bucket(bucketImages).Delete([]byte(img.ID)); err != nil {
		return nil, nil, err
	}
	if img.Parent != "" {
		kids[img.Parent]--
	}
	return append(items, DeleteItem{Deleted: img.ID}), img, nil
}

// untagOne removes one name of an image that keeps others. As docker does,
// removing a repository's last tag also removes that repository's digest
// references ("busybox@sha256:..."), which would otherwise keep the image
// listed under a name the user removed.
func untagOne(tx *bolt.Tx, img *Image, name string) ([]DeleteItem, *Image, error) {
	items := []DeleteItem{{Untagged: name}}
	if err := refsBucket(tx).Delete([]byte(name)); err != nil {
		return nil, nil, err
	}
	r, err := ParseReference(name)
	if err != nil || r.Digest != "" {
		return items, nil, nil
	}
	for _, t := range img.RepoTags {
		if tr, err := ParseReference(t); err == nil && t != name && tr.Name() == r.Name() {
			return items, nil, nil // the repository keeps a tag
		}
	}
	for _, d := range img.RepoDigests {
		if dr, err := ParseReference(d); err == nil && dr.Name() == r.Name() {
			if err := refsBucket(tx).Delete([]byte(d)); err != nil {
				return nil, nil, err
			}
			items = append(items, DeleteItem{Untagged: d})
		}
	}
	return items, nil, nil
}

// pruneParentsTx deletes the chain of untagged parents (a build's
// intermediate steps) that the removal of their last child left unused, as
// docker's rmi does unless --no-prune.
func (s *Store) pruneParentsTx(tx *bolt.Tx, id string, kids map[string]int) ([]DeleteItem, error) {
	var items []DeleteItem
	for id != "" {
		img, err := getImage(tx, id)
		if err != nil {
			return items, nil // gone already, or never stored
		}
		if len(img.RepoTags) > 0 || s.containers(id) > 0 {
			return items, nil
		}
		if kids[id] > 0 {
			return items, nil
		}
		it, _, err := s.removeTx(tx, id, img, RemoveOptions{Force: true}, kids)
		if err != nil {
			return items, err
		}
		items = append(items, it...)
		id = img.Parent
	}
	return items, nil
}

// removeAllTx removes the images children first (a parent goes in a later
// pass, once its children are gone), each with its untagged parents.
func (s *Store) removeAllTx(tx *bolt.Tx, cands []*Image) ([]DeleteItem, error) {
	kids, err := childCounts(tx)
	if err != nil {
		return nil, err
	}
	var items []DeleteItem
	for progress := true; progress; {
		progress = false
		for _, img := range cands {
			if _, err := getImage(tx, img.ID); err != nil {
				continue // gone already
			}
			if kids[img.ID] > 0 {
				continue
			}
			it, _, err := s.removeTx(tx, img.ID, img, RemoveOptions{Force: true}, kids)
			if err != nil {
				return items, err
			}
			more, err := s.pruneParentsTx(tx, img.Parent, kids)
			if err != nil {
				return items, err
			}
			items, progress = append(append(items, it...), more...), true
		}
	}
	return items, nil
}

// childCounts counts each image's children (images whose parent it is),
// in one pass over the store.
func childCounts(tx *bolt.Tx) (map[string]int, error) {
	kids := map[string]int{}
	err := tx.Bucket(bucketRoot).Bucket(bucketImages).ForEach(func(k, _ []byte) error {
		img, err := getImage(tx, string(k))
		if err == nil && img.Parent != "" {
			kids[img.Parent]++
		}
		return err
	})
	return kids, err
}

func distinctRepos(tags []string) int {
	seen := map[string]bool{}
	for _, t := range tags {
		if r, err := ParseReference(t); err == nil {
			seen[r.Name()] = true
		}
	}
	return len(seen)
}

// Prune deletes dangling images (no tag), or with all every image no
// container uses, then frees their layers and blobs. It returns what was
// deleted and the bytes reclaimed.
func (s *Store) Prune(ctx context.Context, all bool, filterArgs []string) ([]DeleteItem, uint64, error) {
	f, err := parseFilters(filterArgs)
	if err != nil {
		return nil, 0, err
	}
	if f.dangling != nil || len(f.reference) > 0 {
		return nil, 0, fmt.Errorf("image prune supports only label filters: %w", errdefs.ErrInvalidArgument)
	}
	var items []DeleteItem
	s.meta.Lock()
	err = s.db.Update(func(tx *bolt.Tx) error {
		var cands []*Image
		parents := map[string]bool{}
		err := tx.Bucket(bucketRoot).Bucket(bucketImages).ForEach(func(k, _ []byte) error {
			img, err := getImage(tx, string(k))
			if err != nil {
				return err
			}
			if img.Parent != "" {
				parents[img.Parent] = true
			}
			if (all || len(img.RepoTags) == 0) && f.match(img) && s.containers(img.ID) == 0 {
				cands = append(cands, img)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if !all {
			// A build's intermediate steps are parents, not dangling: they
			// are its cache (docker keeps them too), and go with their
			// last child.
			cands = slices.DeleteFunc(cands, func(img *Image) bool { return parents[img.ID] })
		}
		items, err = s.removeAllTx(tx, cands)
		return err
	})
	s.meta.Unlock()
	if err != nil {
		return nil, 0, err
	}
	reclaimed, err := s.GC(ctx)
	return items, reclaimed, err
}

// GC removes blobs and snapshots that no image references and no running
// pull or load is creating, and returns the bytes freed.
func (s *Store) GC(ctx context.Context) (uint64, error) {
	s.meta.Lock()
	defer s.meta.Unlock()
	keep := map[string]bool{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRoot).Bucket(bucketImages).ForEach(func(k, _ []byte) error {
			img, err := getImage(tx, string(k))
			if err != nil {
				return err
			}
			keep[img.ID], keep[img.ManifestDigest] = true, true
			for _, c := range img.ChainIDs {
				keep[c] = true
			}
			for _, l := range img.Layers {
				keep[l.Digest] = true
			}
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	var freed uint64
	snaps, err := s.snaps.List()
	if err != nil {
		return 0, err
	}
	for _, c := range snaps {
		if keep[c] || s.leased(c) {
			continue
		}
		n, _ := s.snaps.Usage(c)
		if err := s.snaps.Remove(c); err != nil {
			return freed, err
		}
		freed += uint64(n)
	}
	blobs, err := s.content.List()
	if err != nil {
		return freed, err
	}
	for _, b := range blobs {
		if keep[b.String()] || s.leased(b.String()) {
			continue
		}
		n, _ := s.content.Size(b)
		if err := s.content.Delete(b); err != nil {
			return freed, err
		}
		freed += uint64(n)
	}
	return freed, nil
}
