//go:build linux

package agent

import (
	"context"
	"fmt"
	"github.com/berth-dev/berth/guest/internal/steptimer"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"

	"github.com/berth-dev/berth/guest/container"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// create makes a container from docker's create bodies.
func (e *engine) create(ctx context.Context, req *agentv1.CreateContainerRequest) (*record, error) {
	b, err := decodeCreate(req)
	if err != nil {
		return nil, err
	}
	st := steptimer.New(ctx, "create", "")
	defer st.Log()
	name := strings.TrimPrefix(req.Name, "/")
	if name != "" && !validContainerName.MatchString(name) {
		return nil, newKindError(errdefs.ErrInvalidArgument, "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", req.Name)
	}
	if name == "" {
		name = e.freeName()
	} else if other, err := e.store.get(name); err == nil && other.Name == name {
		return nil, errNameInUse(name, other.ID)
	}
	iv, err := e.resolveImage(ctx, b.cfg.Image)
	if err != nil {
		return nil, err
	}
	nets, err := e.resolveNetworks(ctx, b)
	if err != nil {
		return nil, err
	}
	specs, err := parseMounts(b.cfg, b.hc, iv.config.Volumes)
	if err != nil {
		return nil, err
	}
	r := &record{
		ID: newContainerID(), Name: name, Created: time.Now().UTC(), Image: b.cfg.Image, ImageID: iv.img.ID,
		Config: mergedConfig(b.cfg, iv.config), HostConfig: b.hc, Networks: nets, Platform: "linux",
	}
	r.Path, r.Args = pathArgs(r.Config)
	st.SetID(r.ID)
	st.Done("name+image+mounts")
	if err := e.createRuntime(ctx, r, b, iv, specs, st); err != nil {
		return nil, err
	}
	e.publish(r, "create", nil)
	st.Done("publish")
	return r, nil
}

// createRuntime makes the volumes, the network endpoints and the runtime
// container, then stores the record; on failure it undoes them all.
func (e *engine) createRuntime(ctx context.Context, r *record, b createBodies, iv *imageView, specs []mountSpec, st *steptimer.Steps) error {
	mounts, undoMounts, err := e.makeMounts(ctx, specs, iv.lowers)
	st.Done("mounts")
	if err != nil {
		return err
	}
	r.Mounts = mounts
	cfg, err := runtimeConfig(r.ID, r.Name, b, iv, mounts)
	if err != nil {
		undoMounts()
		return err
	}
	cfg.Restart = container.RestartPolicy{Name: string(b.hc.RestartPolicy.Name), MaximumRetryCount: b.hc.RestartPolicy.MaximumRetryCount}
	cfg.AutoRemove = b.hc.AutoRemove
	cfg.Created = r.Created
	e.setUsage(r) // before the runtime exists, so an rmi cannot slip in
	nc, err := e.setupNetwork(ctx, r)
	if err != nil {
		e.dropUsage(r.ID)
		undoMounts()
		return err
	}
	cfg.Create.Network = nc
	st.Done("network")
	undo := func() {
		bg := context.WithoutCancel(ctx)
		e.teardownNetwork(bg, r)
		e.dropUsage(r.ID)
		undoMounts()
	}
	c, err := e.rt.Create(ctx, *cfg)
	if err != nil {
		undo()
		return err
	}
	st.Done("runtime")
	if err := e.store.insert(r); err != nil {
		_ = c.Delete(context.WithoutCancel(ctx), true)
		undo()
		return err
	}
	st.Done("store")
	return nil
}

// freeName picks a random name no container has.
func (e *engine) freeName() string {
	for i := 0; ; i++ {
		n := randomContainerName(i / 3)
		if _, err := e.store.get(n); errdefs.IsNotFound(err) {
			return n
		}
	}
}

// runtimeContainer returns the runtime's container for a record.
func (e *engine) runtimeContainer(r *record) (*container.Container, error) {
	c, err := e.rt.Get(r.ID)
	if err != nil {
		return nil, newKindError(errdefs.ErrFailedPrecondition, "container %s has no runtime state (it is dead): remove it", r.Name)
	}
	return c, nil
}

// state is the container's current state, from the runtime.
func (e *engine) state(ctx context.Context, r *record) container.State {
	c, err := e.rt.Get(r.ID)
	if err != nil {
		return container.State{Status: container.StatusDead, Error: "no runtime state"}
	}
	return c.State(ctx)
}

func isUp(s container.Status) bool {
	return s == container.StatusRunning || s == container.StatusPaused || s == container.StatusRestarting
}

// start starts a container, wiring attaches that wait for it.
func (e *engine) start(ctx context.Context, ref string) error {
	r, err := e.store.get(ref)
	if err != nil {
		return err
	}
	defer e.lock(r.ID)()
	c, err := e.runtimeContainer(r)
	if err != nil {
		return err
	}
	st := c.State(ctx)
	if st.Status == container.StatusPaused {
		return newKindError(errdefs.ErrConflict, "cannot start a paused container, try unpause instead")
	}
	if st.Status == container.StatusRunning {
		return nil
	}
	sp := steptimer.New(ctx, "start", r.ID)
	defer sp.Log()
	if err := e.ensureNetwork(ctx, r, c); err != nil {
		return err
	}
	sp.Done("network")
	attaches := e.takePending(r.ID)
	var opts *container.AttachOptions
	if len(attaches) > 0 {
		opts = unionAttach(attaches)
	}
	streams, err := c.Start(ctx, opts)
	sp.Done("runtime")
	if err != nil {
		for _, a := range attaches {
			a.fail()
		}
		return err
	}
	if cs := r.HostConfig.ConsoleSize; r.Config.Tty && cs[0] > 0 && cs[1] > 0 {
		_ = c.Resize(ctx, uint16(cs[1]), uint16(cs[0])) // docker's [height, width]
	}
	e.serveAttaches(r, attaches, streams)
	sp.Done("attaches")
	return nil
}

// stop stops a running container (docker stop).
func (e *engine) stop(ctx context.Context, r *record, timeout *int32, signal string) error {
	c, err := e.runtimeContainer(r)
	if err != nil {
		return err
	}
	if !isUp(c.State(ctx).Status) {
		_ = c.Stop(ctx, nil) // cancels a pending restart, marks it stopped
		return nil
	}
	sig := r.Config.StopSignal
	if signal != "" {
		sig = signal
	}
	if sig == "" {
		sig = "SIGTERM"
	}
	if s, err := container.ParseSignal(sig); err == nil {
		e.publish(r, "kill", map[string]string{"signal": fmt.Sprint(int(s))})
		if signal != "" {
			_ = c.Kill(ctx, s)
		}
	}
	var d *time.Duration
	if timeout != nil {
		t := time.Duration(*timeout) * time.Second
		if *timeout < 0 {
			t = -1
		}
		d = &t
	}
	if err := c.Stop(ctx, d); err != nil {
		return err
	}
	e.publish(r, "stop", nil)
	return nil
}

// kill sends a signal (docker kill).
func (e *engine) kill(ctx context.Context, r *record, signal string) error {
	c, err := e.runtimeContainer(r)
	if err != nil {
		return err
	}
	if signal == "" {
		signal = "SIGKILL"
	}
	sig, err := container.ParseSignal(signal)
	if err != nil {
		return newKindError(errdefs.ErrInvalidArgument, "invalid signal: %s", signal)
	}
	if !isUp(c.State(ctx).Status) {
		return newKindError(errdefs.ErrConflict, "cannot kill container: %s: container %s is not running", r.Name, r.ID)
	}
	if err := c.Kill(ctx, sig); err != nil {
		return fmt.Errorf("cannot kill container: %s: %w", r.Name, err)
	}
	e.publish(r, "kill", map[string]string{"signal": fmt.Sprint(int(sig))})
	return nil
}

// remove deletes a container (docker rm).
func (e *engine) remove(ctx context.Context, ref string, force, volumes bool) error {
	r, err := e.store.get(ref)
	if err != nil {
		return err
	}
	defer e.lock(r.ID)()
	defer e.rt.HoldTrash()() // the rootfs unmount waits for forget's commits
	sp := steptimer.New(ctx, "remove", r.ID)
	defer sp.Log()
	if c, err := e.rt.Get(r.ID); err == nil {
		st := c.State(ctx).Status
		if isUp(st) && !force {
			if st == container.StatusPaused {
				return newKindError(errdefs.ErrConflict, "cannot remove container \"/%s\": container is paused: unpause and stop the container before removing or force remove", r.Name)
			}
			return newKindError(errdefs.ErrConflict, "cannot remove container \"/%s\": container is running: stop the container before removing or force remove", r.Name)
		}
		if st == container.StatusPaused {
			_ = c.Resume(ctx)
		}
		if err := c.Delete(ctx, force); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("cannot remove container \"/%s\": %w", r.Name, err)
		}
	}
	sp.Done("runtime")
	e.forget(ctx, r, volumes)
	sp.Done("forget")
	return nil
}

// forget drops what is left of a deleted container: endpoints, namespace,
// record, and with volumes its anonymous volumes.
func (e *engine) forget(ctx context.Context, r *record, volumes bool) {
	e.teardownNetwork(ctx, r)
	if err := e.store.remove(r.ID); err != nil {
		log.G(ctx).WithError(err).Warn("remove container record")
	}
	e.dropUsage(r.ID)
	e.dropExecs(r.ID)
	if volumes {
		for _, m := range r.Mounts {
			if m.Type == "volume" && m.Anonymous {
				if err := e.volumes.Remove(ctx, m.Name, false); err == nil {
					e.events.publish("volume", "destroy", m.Name, nil)
				}
			}
		}
	}
	e.publish(r, "destroy", nil)
	e.notify(r.ID)
}

// wait blocks until condition holds and returns the exit code.
func (e *engine) wait(ctx context.Context, ref, condition string) (int64, error) {
	r, err := e.store.get(ref)
	if err != nil {
		return 0, err
	}
	start := e.lastExit(r.ID)
	for {
		ch := e.watch(r.ID)
		cur := e.lastExit(r.ID)
		switch condition {
		case "", "not-running":
			if _, err := e.store.get(r.ID); err != nil {
				return int64(cur.code), nil
			}
			if st := e.state(ctx, r); !isUp(st.Status) {
				return int64(st.ExitCode), nil
			}
		case "next-exit":
			if cur.count > start.count {
				return int64(cur.code), nil
			}
		case "removed":
			if _, err := e.store.get(r.ID); errdefs.IsNotFound(err) {
				return int64(cur.code), nil
			}
		default:
			return 0, newKindError(errdefs.ErrInvalidArgument, "invalid condition: %q", condition)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-e.ctx.Done():
			return 0, fmt.Errorf("agent is shutting down: %w", errdefs.ErrUnavailable)
		}
	}
}

// onRuntimeEvent turns runtime events into docker events and keeps the
// engine's exit bookkeeping. It must not block.
func (e *engine) onRuntimeEvent(ev container.Event) {
	switch ev.Type {
	case container.EventDie:
		e.mu.Lock()
		x := e.exits[ev.ID]
		e.exits[ev.ID] = exitInfo{count: x.count + 1, code: ev.ExitCode}
		e.mu.Unlock()
	case container.EventDestroy:
		// Deletes the engine makes itself publish their own event; one the
		// runtime made on its own (--rm) is finished here.
		e.goOwned(func(ctx context.Context) { e.autoRemoved(ctx, ev.ID) })
		return
	}
	r, err := e.store.get(ev.ID)
	if err == nil {
		var attrs map[string]string
		if ev.Type == container.EventDie {
			attrs = map[string]string{"exitCode": fmt.Sprint(ev.ExitCode)}
		}
		e.publish(r, ev.Type, attrs)
	}
	e.notify(ev.ID)
}

// autoRemoved finishes a container the runtime removed (--rm).
func (e *engine) autoRemoved(ctx context.Context, id string) {
	unlock := e.lock(id)
	defer unlock()
	r, err := e.store.get(id)
	if err != nil || r.ID != id {
		return
	}
	e.forget(ctx, r, true)
}
