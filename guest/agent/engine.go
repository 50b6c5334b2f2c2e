//go:build linux

package agent

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/containerd/log"
	bolt "go.etcd.io/bbolt"

	"github.com/berth-dev/berth/guest/container"
	"github.com/berth-dev/berth/guest/image"
	"github.com/berth-dev/berth/guest/network"
	"github.com/berth-dev/berth/guest/volume"
)

// engine is the container engine behind the Containers and Networks
// services: container records, their runtime, networks, volumes and images
// tied together. Its goroutines (exit monitors, restarts) are owned by it
// and end on close, which never stops containers.
type engine struct {
	dataDir string
	store   *containerStore
	rt      *container.Runtime
	nets    *network.Manager
	images  *image.Store
	volumes *volume.Store
	events  *eventBus

	ctx    context.Context // lives until close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	locks   map[string]*sync.Mutex   // one operation at a time per container
	changed map[string]chan struct{} // closed and replaced on each change
	exits   map[string]exitInfo      // exits seen per container, for Wait
	usage   map[string]usageEntry    // what each container uses
	execs   map[string]*execRecord   // by exec id
	pending map[string][]*pendingAttach
}

// usageEntry is what a container holds on to: its image and volumes.
type usageEntry struct {
	imageID string
	volumes []string
}

// engineDeps are the stores the engine orchestrates.
type engineDeps struct {
	dataDir string
	db      *bolt.DB
	nets    *network.Manager
	images  *image.Store
	volumes *volume.Store
	events  *eventBus
	// runtimeOpts are extra options for the container runtime (tests).
	runtimeOpts []container.Option
}

// newEngine opens the container records and the runtime under
// dataDir/containers; the runtime re-adopts running containers.
func newEngine(ctx context.Context, d engineDeps) (*engine, error) {
	st, err := newContainerStore(d.db)
	if err != nil {
		return nil, err
	}
	e := &engine{
		dataDir: d.dataDir,
		store:   st,
		nets:    d.nets,
		images:  d.images,
		volumes: d.volumes,
		events:  d.events,
		locks:   map[string]*sync.Mutex{},
		changed: map[string]chan struct{}{},
		exits:   map[string]exitInfo{},
		usage:   map[string]usageEntry{},
		execs:   map[string]*execRecord{},
		pending: map[string][]*pendingAttach{},
	}
	e.ctx, e.cancel = context.WithCancel(context.WithoutCancel(ctx))
	recs, err := st.list()
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		e.setUsage(r)
	}
	e.restoreNetworks(ctx, recs)
	opts := append([]container.Option{container.WithEventHandler(e.onRuntimeEvent)}, d.runtimeOpts...)
	rt, err := container.New(ctx, filepath.Join(d.dataDir, "containers"), opts...)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.rt = rt
	e.mu.Unlock()
	e.dropOrphans(ctx, recs)
	if e.images != nil {
		e.images.SetUsage(e.imageUsers)
	}
	if e.volumes != nil {
		e.volumes.SetUsage(e.volumeUsers)
	}
	return e, nil
}

// close stops the engine's goroutines. Containers keep running; a new
// engine on the same data dir re-adopts them.
func (e *engine) close() {
	e.cancel()
	e.wg.Wait()
	if e.rt != nil {
		e.rt.Close()
	}
}

// netnsPath is where a container's network namespace is bind-mounted.
func (e *engine) netnsPath(id string) string {
	return filepath.Join(e.dataDir, "netns", id)
}

// lock serializes operations on one container.
func (e *engine) lock(id string) func() {
	e.mu.Lock()
	m, ok := e.locks[id]
	if !ok {
		m = &sync.Mutex{}
		e.locks[id] = m
	}
	e.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// watch returns a channel closed at the next change of container id.
func (e *engine) watch(id string) <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	ch, ok := e.changed[id]
	if !ok {
		ch = make(chan struct{})
		e.changed[id] = ch
	}
	return ch
}

// notify wakes the watchers of container id.
func (e *engine) notify(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ch, ok := e.changed[id]; ok {
		close(ch)
		delete(e.changed, id)
	}
}

// exitInfo counts a container's exits and keeps the last exit code.
type exitInfo struct {
	count int
	code  int
}

func (e *engine) lastExit(id string) exitInfo {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.exits[id]
}

func (e *engine) setUsage(r *record) {
	u := usageEntry{imageID: r.ImageID}
	for _, m := range r.Mounts {
		if m.Type == "volume" {
			u.volumes = append(u.volumes, m.Name)
		}
	}
	e.mu.Lock()
	e.usage[r.ID] = u
	e.mu.Unlock()
}

func (e *engine) dropUsage(id string) {
	e.mu.Lock()
	delete(e.usage, id)
	delete(e.locks, id)
	e.mu.Unlock()
}

// imageUsers counts the containers made from image id (the image store's
// usage hook: such images cannot be removed without force).
func (e *engine) imageUsers(id string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, u := range e.usage {
		if u.imageID == id {
			n++
		}
	}
	return n
}

// volumeUsers returns the containers that mount volume name.
func (e *engine) volumeUsers(name string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var ids []string
	for id, u := range e.usage {
		for _, v := range u.volumes {
			if v == name {
				ids = append(ids, id)
				break
			}
		}
	}
	return ids
}

// counts returns how many containers are running, paused and stopped, for
// System.Info.
func (e *engine) counts() (running, paused, stopped int64) {
	recs, err := e.store.list()
	if err != nil {
		log.G(e.ctx).WithError(err).Warn("counting containers")
		return 0, 0, 0
	}
	for _, r := range recs {
		switch e.state(e.ctx, r).Status {
		case "running", "restarting":
			running++
		case "paused":
			paused++
		default:
			stopped++
		}
	}
	return running, paused, stopped
}

// publish sends a container event with docker's attributes.
func (e *engine) publish(r *record, action string, extra map[string]string) {
	attrs := map[string]string{"name": r.Name, "image": r.Image}
	if r.Config != nil {
		for k, v := range r.Config.Labels {
			attrs[k] = v
		}
	}
	for k, v := range extra {
		attrs[k] = v
	}
	e.events.publish("container", action, r.ID, attrs)
}

// go runs fn as a goroutine owned by the engine.
func (e *engine) goOwned(fn func(ctx context.Context)) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		fn(e.ctx)
	}()
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// HostNetworkLock is the lock file engines sharing the host's network
// namespace (agents started with a NetworkID) take while they choose a
// subnet.
const HostNetworkLock = "/run/berth/network.lock"

// engineHooks let tests run the engine in a network namespace of their
// own and with their own crun state dir. Nil in production.
var engineHooks struct {
	network func(*network.Options)
	runtime []container.Option
	// initPath stands in for Options.InitPath (test binaries are not static).
	initPath string
}

// openEngine starts the network manager and the container engine.
func (s *Server) openEngine(ctx context.Context) error {
	nopts := network.Options{DB: s.db, StateDir: filepath.Join(s.opts.DataDir, "network")}
	if id := s.opts.NetworkID; id != "" {
		nopts.DefaultBridge, nopts.Table = "berth-"+id, "berth-"+id
		nopts.HostLock = HostNetworkLock
	}
	if engineHooks.network != nil {
		engineHooks.network(&nopts)
	}
	nets, err := network.New(ctx, nopts)
	if err != nil {
		return fmt.Errorf("agent: networks: %w", err)
	}
	ropts := engineHooks.runtime
	if p := cmp.Or(engineHooks.initPath, s.opts.InitPath); p != "" {
		ropts = append([]container.Option{container.WithInit(p)}, ropts...)
	}
	e, err := newEngine(ctx, engineDeps{
		dataDir: s.opts.DataDir, db: s.db, nets: nets, images: s.images.store,
		volumes: s.volumes, events: s.events, runtimeOpts: ropts,
	})
	if err != nil {
		nets.Close()
		return fmt.Errorf("agent: containers: %w", err)
	}
	s.nets, s.engine = nets, e
	return nil
}

// closeEngine stops the engine's work without stopping containers.
func (s *Server) closeEngine() {
	if s.engine != nil {
		s.engine.close()
	}
	if s.nets != nil {
		s.nets.Close()
	}
}
