package container

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
)

// Runtime creates and runs containers; one per agent.
type Runtime struct {
	root   string
	o      options
	hybrid bool
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// shuttingDown is set by Shutdown: no restart policy applies any more.
	shuttingDown atomic.Bool

	mu         sync.Mutex
	containers map[string]*Container

	poolMu sync.Mutex
	idle   *shimProc

	// trashMu guards trashHolds: while it is above zero the background
	// deletion of removed containers waits (HoldTrash).
	trashMu    sync.Mutex
	trashCond  *sync.Cond
	trashOnce  sync.Once
	trashHolds int
}

// New opens (creating it if needed) a runtime rooted at root, re-adopting
// the containers found there: running ones are supervised again, exited
// ones whose restart policy says so are restarted.
func New(ctx context.Context, root string, opts ...Option) (*Runtime, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if len(o.shim) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find own executable for the shim: %w", err)
		}
		o.shim = []string{exe, "shim"}
	}
	if err := os.MkdirAll(root, 0o711); err != nil {
		return nil, fmt.Errorf("container root: %w", err)
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r := &Runtime{root: root, o: o, hybrid: HybridCgroups(), ctx: rctx, cancel: cancel, containers: map[string]*Container{}}
	if err := r.load(ctx); err != nil {
		cancel()
		return nil, err
	}
	return r, nil
}

// Close stops supervising containers (they keep running in their shims).
func (r *Runtime) Close() error {
	r.cancel()
	r.wg.Wait()
	r.drainPool()
	return nil
}

func (r *Runtime) load(ctx context.Context) error {
	ents, err := os.ReadDir(r.root)
	if err != nil {
		return fmt.Errorf("read container root: %w", err)
	}
	r.emptyTrash(ctx)
	for _, e := range ents {
		if !e.IsDir() || isTrash(e.Name()) {
			continue
		}
		c, err := r.loadContainer(e.Name())
		if err != nil {
			log.G(ctx).WithError(err).Warnf("skipping container dir %s", e.Name())
			continue
		}
		r.containers[c.id] = c
		c.adopt(ctx)
	}
	return nil
}

func (r *Runtime) loadContainer(id string) (*Container, error) {
	dir := filepath.Join(r.root, id)
	c := &Container{rt: r, id: id, dir: dir}
	if err := readJSON(filepath.Join(dir, "meta.json"), &c.cfg); err != nil {
		return nil, err
	}
	// state.json may be empty or torn after a crash of the machine (it is
	// not always fsynced): the container is then kept with the state it
	// had when created, its exit coming from the shim's exit.json.
	if err := readJSON(filepath.Join(dir, "state.json"), &c.st); err != nil && !errors.Is(err, fs.ErrNotExist) {
		if !errors.Is(err, errUndecodable) {
			return nil, err
		}
		log.G(r.ctx).WithError(err).Warnf("container %s: ignoring its unreadable state", id)
		c.st = persisted{}
	}
	return c, nil
}

// validID reports whether id is a valid container id: 1 to 128 of
// [a-zA-Z0-9_.-], not starting with '_', '.' or '-'. (A regexp with
// {0,127} compiled at start-up cost every shim and agent process 1700
// allocations.)
func validID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i, c := range []byte(id) {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || (c != '_' && c != '.' && c != '-')) {
			return false
		}
	}
	return true
}

// Create prepares a container: state dir, root filesystem, /etc files and
// the OCI spec. Nothing runs until Start.
func (r *Runtime) Create(ctx context.Context, cfg Config) (*Container, error) {
	if !validID(cfg.ID) {
		return nil, fmt.Errorf("invalid container id %q: %w", cfg.ID, errdefs.ErrInvalidArgument)
	}
	if cfg.Created.IsZero() {
		cfg.Created = time.Now().UTC()
	}
	r.mu.Lock()
	if _, ok := r.containers[cfg.ID]; ok {
		r.mu.Unlock()
		return nil, fmt.Errorf("container %s: %w", cfg.ID, errdefs.ErrAlreadyExists)
	}
	c := &Container{rt: r, id: cfg.ID, dir: filepath.Join(r.root, cfg.ID), cfg: cfg, live: liveState{status: StatusExited}}
	r.containers[cfg.ID] = c
	r.mu.Unlock()
	if err := c.prepare(ctx); err != nil {
		c.cleanup(ctx)
		r.forget(cfg.ID)
		return nil, err
	}
	return c, nil
}

// Get returns the container with the given id.
func (r *Runtime) Get(id string) (*Container, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[id]
	if !ok {
		return nil, fmt.Errorf("no such container: %s: %w", id, errdefs.ErrNotFound)
	}
	return c, nil
}

// List returns all containers, oldest first.
func (r *Runtime) List() []*Container {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Container, 0, len(r.containers))
	for _, c := range r.containers {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].cfg.Created.Before(out[j].cfg.Created) })
	return out
}

func (r *Runtime) forget(id string) {
	r.mu.Lock()
	delete(r.containers, id)
	r.mu.Unlock()
}

func (r *Runtime) emit(id, typ string, code int) {
	if r.o.onEvent != nil {
		r.o.onEvent(Event{ID: id, Type: typ, ExitCode: code, Time: time.Now().UTC()})
	}
}
