package machine

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/fsnotify/fsnotify"

	"github.com/berth-dev/berth/host/share"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// Shared folders (virtiofs, 9p, Plan 9 over hvsock) do not report the
// host's changes to the VM's inotify. The machine daemon therefore watches
// the host folders that running containers bind-mount (with fsnotify) and
// sends each change, batched, to the agent's System.NotifyFileEvents,
// which replays it in the guest so that watchers (dev servers' hot reload,
// inotifyd) see it. The native driver needs none of this: its containers
// share the host's kernel.
//
// The replay does reach the host: the agent rewrites a file's own mtime or
// mode, which the shared filesystem passes on, so the host reports the file
// again. To never send such an echo back, the watcher remembers each
// path's state (existence, type, mode, size, mtime: what the replay keeps)
// and drops a write or chmod event that leaves that state as it was.

// Limits and timings of the file watcher.
const (
	// watchBatch is how long changes are collected before they are sent:
	// an editor's save or a checkout becomes one request.
	watchBatch = 50 * time.Millisecond
	// watchBudget bounds what is watched per machine: inotify watches and
	// Windows handles (one per directory), or kqueue's descriptors (one per
	// directory and per file in it, see dirCost). Trees beyond it are
	// watched in part.
	watchBudget = 8192
	// maxEventsPerCall bounds one NotifyFileEvents request.
	maxEventsPerCall = 5000
	// maxSeen bounds the remembered file states; past it they are forgotten
	// (at worst one echo is sent back once more).
	maxSeen = 200000
)

// watchSource is what the file watcher asks the agent.
type watchSource interface {
	// Running returns the ids of the containers that are up.
	Running(ctx context.Context) ([]string, error)
	// Events subscribes to container events (see containerSource.Events).
	Events(ctx context.Context, ready func(), fn func(id, action string)) error
	// BindSources inspects a container: whether it runs and the VM paths it
	// bind-mounts. A missing container is errdefs.ErrNotFound.
	BindSources(ctx context.Context, id string) (bool, []string, error)
	// NotifyFileEvents sends changes to the agent.
	NotifyFileEvents(ctx context.Context, evs []*agentv1.FileEvent) error
}

// fileState is what the agent's replay leaves unchanged.
type fileState struct {
	exists, dir bool
	mode        fs.FileMode
	size        int64
	mtime       time.Time
}

func statOf(p string) fileState {
	fi, err := os.Lstat(p)
	if err != nil {
		return fileState{}
	}
	return fileState{exists: true, dir: fi.IsDir(), mode: fi.Mode(), size: fi.Size(), mtime: fi.ModTime()}
}

// change is what happened to one path during a batch.
type change struct {
	vm                                     string
	create, write, chmod, removed, renamed bool
}

// fileWatcher follows the running containers' bind mounts and forwards
// host changes under them.
type fileWatcher struct {
	src    watchSource
	shares []share.Share
	goos   string
	batch  time.Duration
	budget int
	w      *fsnotify.Watcher

	mu         sync.Mutex
	containers map[string][]watchRoot // running containers' bind sources
	roots      []watchRoot            // their union
	dirs       map[string]int         // host dirs being watched: their cost
	used       int                    // the dirs' costs added up
	full       bool                   // watchBudget was reached
	// unsupported is set while the agent answers NotImplemented.
	unsupported atomic.Bool
	seen        map[string]fileState // last state of each path (loop only)
	pending     map[string]*change   // this batch (loop only)
	order       []string             // pending's paths in arrival order
}

func newFileWatcher(src watchSource, shares []share.Share, goos string) (*fileWatcher, error) {
	w, err := fsnotify.NewBufferedWatcher(1024)
	if err != nil {
		return nil, err
	}
	return &fileWatcher{src: src, shares: shares, goos: goos, batch: watchBatch, budget: watchBudget, w: w,
		containers: map[string][]watchRoot{}, dirs: map[string]int{},
		seen: map[string]fileState{}, pending: map[string]*change{}}, nil
}

// startFileWatch runs the file watcher of a VM machine until ctx ends.
func (dm *daemon) startFileWatch(ctx context.Context, wg *sync.WaitGroup) {
	if !dm.d.Features().VM {
		return // containers share the host's kernel: it sees the changes itself
	}
	fw, err := newFileWatcher(agentSource{dial: dm.d.DialAgent}, machineShares(dm.m.Config.Driver, dm.m.Config), runtime.GOOS)
	if err != nil {
		log.G(ctx).WithError(err).Warn("cannot watch shared folders: containers will not see host file changes")
		return
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		fw.Run(ctx)
	}()
}

// Run follows the containers and forwards changes until ctx ends, then
// releases every watch.
func (fw *fileWatcher) Run(ctx context.Context) {
	defer fw.w.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fw.follow(ctx)
	}()
	fw.loop(ctx)
	<-done
}

// follow subscribes to container events, reconciling at every
// subscription, as the port manager does.
func (fw *fileWatcher) follow(ctx context.Context) {
	wait := eventsRetryFirst
	for ctx.Err() == nil {
		subscribed := false
		err := fw.src.Events(ctx, func() {
			subscribed = true
			fw.reconcile(ctx)
		}, func(id, action string) {
			if forwardAction(action) {
				fw.syncContainer(ctx, id)
			}
		})
		if ctx.Err() != nil {
			return
		}
		if subscribed {
			wait = eventsRetryFirst
		}
		log.G(ctx).WithError(err).Debug("file watcher: agent events ended; subscribing again")
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, eventsRetryMax)
	}
}

// reconcile sets the watched roots from every running container.
func (fw *fileWatcher) reconcile(ctx context.Context) {
	ids, err := fw.src.Running(ctx)
	if err != nil {
		log.G(ctx).WithError(err).Debug("file watcher: list containers")
		return
	}
	all := map[string][]watchRoot{}
	for _, id := range ids {
		up, src, err := fw.src.BindSources(ctx, id)
		if err != nil || !up {
			continue
		}
		if rs := fw.rootsOf(src); len(rs) > 0 {
			all[id] = rs
		}
	}
	fw.mu.Lock()
	fw.containers = all
	fw.mu.Unlock()
	fw.unsupported.Store(false) // maybe a new agent
	fw.applyRoots(ctx)
}

// syncContainer updates the roots of one container after an event.
func (fw *fileWatcher) syncContainer(ctx context.Context, id string) {
	up, src, err := fw.src.BindSources(ctx, id)
	if err != nil && !errdefs.IsNotFound(err) {
		log.G(ctx).WithError(err).Debug("file watcher: inspect container")
		return
	}
	fw.mu.Lock()
	if rs := fw.rootsOf(src); up && len(rs) > 0 {
		fw.containers[id] = rs
	} else {
		delete(fw.containers, id)
	}
	fw.mu.Unlock()
	fw.applyRoots(ctx)
}

// rootsOf maps bind sources to host paths that exist; a bind of the VM's
// own files (in no share) has nothing to watch.
func (fw *fileWatcher) rootsOf(sources []string) []watchRoot {
	var out []watchRoot
	for _, vm := range sources {
		host, ok := hostPathOf(fw.goos, fw.shares, vm)
		if !ok {
			continue
		}
		fi, err := os.Stat(host)
		if err != nil {
			continue
		}
		out = append(out, watchRoot{Host: host, VM: path.Clean(vm), Dir: fi.IsDir()})
	}
	return out
}

// applyRoots watches what the containers' roots need and stops watching
// the rest.
func (fw *fileWatcher) applyRoots(ctx context.Context) {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	byHost := map[string]watchRoot{}
	for _, rs := range fw.containers {
		for _, r := range rs {
			byHost[r.Host] = r
		}
	}
	roots := make([]watchRoot, 0, len(byHost))
	for _, r := range byHost {
		roots = append(roots, r)
	}
	sort.Slice(roots, func(i, j int) bool { return roots[i].Host < roots[j].Host })
	fw.roots = roots
	for d := range fw.dirs {
		if !fw.covered(d) {
			fw.unwatch(d)
		}
	}
	for _, r := range roots {
		if r.Dir {
			fw.addTree(ctx, r.Host, nil)
		} else {
			fw.addDir(ctx, filepath.Dir(r.Host))
		}
	}
}

// covered reports whether a root needs dir watched. fw.mu is held.
func (fw *fileWatcher) covered(dir string) bool {
	for _, r := range fw.roots {
		if r.Dir {
			if _, ok := r.vmPathOf(dir); ok {
				return true
			}
		} else if filepath.Dir(r.Host) == dir {
			return true
		}
	}
	return false
}

// addTree watches dir and its subdirectories; found (may be nil) gets
// every path below dir. fw.mu is held.
func (fw *fileWatcher) addTree(ctx context.Context, dir string, found func(string)) {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable or gone: skip it
		}
		if p != dir && found != nil {
			found(p)
		}
		if !d.IsDir() {
			return nil
		}
		if !fw.addDir(ctx, p) {
			return filepath.SkipAll
		}
		return nil
	})
}

// addDir watches one directory; false when the budget is spent. fw.mu
// is held.
func (fw *fileWatcher) addDir(ctx context.Context, dir string) bool {
	if fw.dirs[dir] > 0 {
		return true
	}
	cost := dirCost(fw.goos, dir)
	if fw.used+cost > fw.budget {
		if !fw.full {
			fw.full = true
			log.G(ctx).Warnf("file watcher: the containers' bind mounts hold more than %d folders (or files, on macOS) to watch: changes in the rest are not seen in the VM", fw.budget)
		}
		return false
	}
	if err := fw.w.Add(dir); err != nil {
		log.G(ctx).WithError(err).Debugf("file watcher: cannot watch %s", dir)
		return true
	}
	fw.dirs[dir] = cost
	fw.used += cost
	return true
}

// unwatch stops watching dir (fsnotify may have dropped a removed one
// already). fw.mu is held.
func (fw *fileWatcher) unwatch(dir string) {
	_ = fw.w.Remove(dir)
	fw.used -= fw.dirs[dir]
	delete(fw.dirs, dir)
}

// dirCost is what watching dir takes from the budget: kqueue (macOS, the
// BSDs) opens every file of a watched directory too.
func dirCost(goos, dir string) int {
	switch goos {
	case "darwin", "freebsd", "openbsd", "netbsd", "dragonfly":
		entries, _ := os.ReadDir(dir)
		return 1 + len(entries)
	}
	return 1
}

// vmPathOf maps a host path to the VM through the roots. fw.mu is held.
func (fw *fileWatcher) vmPathOf(host string) (string, bool) {
	for _, r := range fw.roots {
		if vm, ok := r.vmPathOf(host); ok {
			return vm, true
		}
	}
	return "", false
}

// loop collects fsnotify events into batches and sends them.
func (fw *fileWatcher) loop(ctx context.Context) {
	var tick <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-fw.w.Events:
			if !ok {
				return
			}
			if fw.handle(ctx, ev) && tick == nil {
				tick = time.After(fw.batch)
			}
		case err, ok := <-fw.w.Errors:
			if !ok {
				return
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				log.G(ctx).Warn("file watcher: too many host changes at once; some were not passed to the VM")
			} else {
				log.G(ctx).WithError(err).Debug("file watcher")
			}
		case <-tick:
			tick = nil
			fw.flush(ctx)
		}
	}
}
