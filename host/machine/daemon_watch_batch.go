package machine

import (
	"context"
	"path/filepath"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/fsnotify/fsnotify"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// handle records one fsnotify event in the batch; it returns whether the
// batch got something to send.
func (fw *fileWatcher) handle(ctx context.Context, ev fsnotify.Event) bool {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	p := ev.Name
	vm, ok := fw.vmPathOf(p)
	if !ok {
		return false // a sibling of a bind-mounted file, or no longer watched
	}
	switch {
	case ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename):
		if fw.dirs[p] > 0 {
			fw.unwatch(p)
		}
		fw.note(p, vm, func(c *change) {
			c.removed = c.removed || ev.Has(fsnotify.Remove)
			c.renamed = c.renamed || ev.Has(fsnotify.Rename)
		})
		return true
	case ev.Has(fsnotify.Create):
		fw.note(p, vm, func(c *change) { c.create = true })
		if st := statOf(p); st.dir && fw.inDirRoot(p) {
			// Watch the new tree, and report what was made in it before
			// the watch existed (mkdir -p, an unpacked archive, a checkout).
			fw.addTree(ctx, p, func(q string) {
				if qvm, ok := fw.vmPathOf(q); ok {
					fw.note(q, qvm, func(c *change) { c.create = true })
				}
			})
		}
		return true
	}
	// Write or Chmod: drop the echo of the agent's own replay.
	st := statOf(p)
	if !st.exists {
		return false // a remove event follows
	}
	if prev, ok := fw.seen[p]; ok && prev == st {
		return false
	}
	fw.remember(p, st)
	fw.note(p, vm, func(c *change) {
		c.write = c.write || ev.Has(fsnotify.Write)
		c.chmod = c.chmod || ev.Has(fsnotify.Chmod)
	})
	return true
}

// inDirRoot reports whether p is inside a directory root. fw.mu is held.
func (fw *fileWatcher) inDirRoot(p string) bool {
	for _, r := range fw.roots {
		if _, ok := r.vmPathOf(p); ok && r.Dir {
			return true
		}
	}
	return false
}

// note adds to the pending change of p. fw.mu is held.
func (fw *fileWatcher) note(p, vm string, fn func(*change)) {
	c, ok := fw.pending[p]
	if !ok {
		c = &change{vm: vm}
		fw.pending[p] = c
		fw.order = append(fw.order, p)
	}
	fn(c)
}

// remember records p's state. fw.mu is held.
func (fw *fileWatcher) remember(p string, st fileState) {
	if len(fw.seen) >= maxSeen {
		clear(fw.seen)
	}
	fw.seen[p] = st
}

// flush sends the batch, in the order the paths first changed.
func (fw *fileWatcher) flush(ctx context.Context) {
	fw.mu.Lock()
	evs := fw.collect()
	fw.mu.Unlock()
	if fw.unsupported.Load() {
		return
	}
	for len(evs) > 0 {
		n := min(len(evs), maxEventsPerCall)
		err := fw.src.NotifyFileEvents(ctx, evs[:n])
		if errdefs.IsNotImplemented(err) {
			// An agent from an older VM image: say so once, until the
			// agent restarts (reconcile clears the flag).
			fw.unsupported.Store(true)
			log.G(ctx).Info("the machine's agent does not replay host file changes (older VM image): containers will not see them")
			return
		}
		if err != nil {
			log.G(ctx).WithError(err).Debugf("file watcher: %d changes not passed to the VM", n)
		}
		evs = evs[n:]
	}
}

// collect turns the batch into events, deciding each op from the path's
// state now, and remembers the states the replay will leave as they are
// (the path itself, and the directory of a removed path, whose mtime the
// agent touches). fw.mu is held.
func (fw *fileWatcher) collect() []*agentv1.FileEvent {
	out := make([]*agentv1.FileEvent, 0, len(fw.order))
	for _, p := range fw.order {
		c := fw.pending[p]
		st := statOf(p)
		if st.exists {
			fw.remember(p, st)
		} else {
			delete(fw.seen, p)
			dir := filepath.Dir(p)
			fw.remember(dir, statOf(dir))
		}
		out = append(out, &agentv1.FileEvent{Path: c.vm, Op: c.op(st.exists)})
	}
	clear(fw.pending)
	fw.order = fw.order[:0]
	return out
}

// op is the FileEvent op for a change to a path that exists now or not.
func (c *change) op(exists bool) string {
	switch {
	case !exists && c.renamed && !c.removed:
		return "rename"
	case !exists:
		return "remove"
	case c.create || c.removed || c.renamed:
		return "create" // made, or replaced, during the batch
	case c.chmod && !c.write:
		return "chmod"
	}
	return "write"
}
