package container

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/containerd/log"
	"golang.org/x/sys/unix"
)

// trashDir is where removed containers' state dirs go, under the root.
// Its name starts with a dot, which no container id does.
const trashDir = ".trash"

// isTrash reports whether an entry of the root is the trash (or another
// entry that is not a container: ids never start with a dot).
func isTrash(name string) bool { return strings.HasPrefix(name, ".") }

// discard removes a container's state dir as far as anyone can see at
// once (a rename into the trash, its rootfs still mounted) and unmounts
// the rootfs and deletes the files in the background, so that removing a
// container waits neither for the unmount (an overlay unmount syncs the
// whole upper file system, i.e. the data disk) nor for the unlinking of
// its files. Close waits for the deletion; New empties a trash left
// behind.
func (r *Runtime) discard(ctx context.Context, dir string) error {
	trash := filepath.Join(r.root, trashDir)
	if err := os.Mkdir(trash, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return removeStateDir(dir)
	}
	tmp, err := os.MkdirTemp(trash, filepath.Base(dir)+"-")
	if err != nil {
		return removeStateDir(dir)
	}
	if err := os.Rename(dir, filepath.Join(tmp, "dir")); err != nil {
		os.Remove(tmp)
		return removeStateDir(dir)
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.waitTrashHolds()
		if err := removeTrashEntry(tmp); err != nil {
			log.G(ctx).WithError(err).Warnf("delete removed container files %s", tmp)
		}
	}()
	return nil
}

// HoldTrash delays the background unmount and deletion of removed
// containers until the returned release is called (every hold released:
// holds nest and overlap), so that they do not compete with the caller's
// own durable writes: an overlay unmount syncs the whole data disk, and
// the store's commit after a Delete would wait for it. The caller must
// call release, soon.
func (r *Runtime) HoldTrash() (release func()) {
	r.trashMu.Lock()
	r.trashHolds++
	r.trashMu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			r.trashMu.Lock()
			r.trashHolds--
			r.trashMu.Unlock()
			r.trashCondition().Broadcast()
		})
	}
}

// waitTrashHolds waits until no HoldTrash is in effect.
func (r *Runtime) waitTrashHolds() {
	cond := r.trashCondition()
	r.trashMu.Lock()
	defer r.trashMu.Unlock()
	for r.trashHolds > 0 {
		cond.Wait()
	}
}

func (r *Runtime) trashCondition() *sync.Cond {
	r.trashOnce.Do(func() { r.trashCond = sync.NewCond(&r.trashMu) })
	return r.trashCond
}

// removeTrashEntry deletes one entry of the trash: <entry>/dir is a
// container's state dir, its rootfs possibly still mounted.
func removeTrashEntry(entry string) error {
	if err := unmountAll(filepath.Join(entry, "dir", "rootfs")); err != nil {
		return err
	}
	return os.RemoveAll(entry)
}

// removeStateDir deletes a state dir in place, its rootfs unmounted first.
func removeStateDir(dir string) error {
	if err := unmountAll(filepath.Join(dir, "rootfs")); err != nil {
		return err
	}
	return os.RemoveAll(dir)
}

// unmountAll detaches every mount stacked on path (none is fine). Nothing
// under path may be deleted unless it succeeded: deleting through a live
// overlay would write whiteouts instead of removing the files.
func unmountAll(path string) error {
	for i := 0; i < 100; i++ {
		err := unix.Unmount(path, unix.MNT_DETACH)
		switch {
		case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOENT):
			return nil // not (or no longer) a mount point
		case err != nil:
			return fmt.Errorf("unmount %s: %w", path, err)
		}
	}
	return fmt.Errorf("unmount %s: still mounted after 100 unmounts", path)
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
			if err := removeTrashEntry(filepath.Join(trash, e.Name())); err != nil {
				log.G(ctx).WithError(err).Warn("empty the removed containers' trash")
			}
		}
	}()
}
