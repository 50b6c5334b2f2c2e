package container

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/log"
)

// trashDir is where removed containers' state dirs go, under the root.
// Its name starts with a dot, which no container id does.
const trashDir = ".trash"

// isTrash reports whether an entry of the root is the trash (or another
// entry that is not a container: ids never start with a dot).
func isTrash(name string) bool { return strings.HasPrefix(name, ".") }

// discard removes a container's state dir as far as anyone can see at
// once (a rename into the trash) and deletes its files in the background,
// so that removing a container does not wait for the unlinking of its
// files. Close waits for the deletion; New empties a trash left behind.
func (r *Runtime) discard(ctx context.Context, dir string) error {
	trash := filepath.Join(r.root, trashDir)
	if err := os.Mkdir(trash, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return os.RemoveAll(dir)
	}
	tmp, err := os.MkdirTemp(trash, filepath.Base(dir)+"-")
	if err != nil {
		return os.RemoveAll(dir)
	}
	if err := os.Rename(dir, filepath.Join(tmp, "dir")); err != nil {
		os.Remove(tmp)
		return os.RemoveAll(dir)
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		if err := os.RemoveAll(tmp); err != nil {
			log.G(ctx).WithError(err).Warnf("delete removed container files %s", tmp)
		}
	}()
	return nil
}

// emptyTrash deletes, in the background, what a previous runtime left in
// the trash.
func (r *Runtime) emptyTrash(ctx context.Context) {
	trash := filepath.Join(r.root, trashDir)
	ents, err := os.ReadDir(trash)
	if err != nil || len(ents) == 0 {
		return
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for _, e := range ents {
			if err := os.RemoveAll(filepath.Join(trash, e.Name())); err != nil {
				log.G(ctx).WithError(err).Warn("empty the removed containers' trash")
			}
		}
	}()
}
