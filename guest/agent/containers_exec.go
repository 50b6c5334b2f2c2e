//go:build linux

package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/containerd/errdefs"
	ctypes "github.com/moby/moby/api/types/container"

	"github.com/berth-dev/berth/guest/container"
)

// execRecord is one `docker exec` process.
type execRecord struct {
	id          string
	containerID string
	cfg         ctypes.ExecCreateRequest
	exec        *container.Exec

	mu       sync.Mutex
	started  bool
	running  bool
	exitCode *int
	pid      int
}

func (e *engine) execCreate(ctx context.Context, r *record, raw []byte) (string, error) {
	var cfg ctypes.ExecCreateRequest
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &cfg); err != nil {
			return "", newKindError(errdefs.ErrInvalidArgument, "invalid exec config: %v", err)
		}
	}
	if len(cfg.Cmd) == 0 {
		return "", newKindError(errdefs.ErrInvalidArgument, "No exec command specified")
	}
	c, err := e.runtimeContainer(r)
	if err != nil {
		return "", err
	}
	switch c.State(ctx).Status {
	case container.StatusRunning:
	case container.StatusPaused:
		return "", newKindError(errdefs.ErrConflict, "Container %s is paused, unpause the container before exec", r.ID)
	default:
		return "", newKindError(errdefs.ErrConflict, "container %s is not running", r.ID)
	}
	id := newExecID()
	x, err := c.Exec(ctx, container.ExecConfig{
		ID: id, Cmd: cfg.Cmd, Env: cfg.Env, WorkingDir: cfg.WorkingDir, User: cfg.User,
		Tty: cfg.Tty, Privileged: cfg.Privileged, Stdin: cfg.AttachStdin,
	})
	if err != nil {
		return "", err
	}
	e.mu.Lock()
	e.execs[id] = &execRecord{id: id, containerID: r.ID, cfg: cfg, exec: x}
	e.mu.Unlock()
	e.publish(r, "exec_create: "+joinArgs(cfg.Cmd), map[string]string{"execID": id})
	return id, nil
}

func (e *engine) getExec(id string) (*execRecord, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.execs[id]
	if !ok {
		return nil, newKindError(errdefs.ErrNotFound, "No such exec instance: %s", id)
	}
	return x, nil
}

func (e *engine) dropExecs(containerID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for id, x := range e.execs {
		if x.containerID == containerID {
			delete(e.execs, id)
		}
	}
}

// execStart starts an exec; conn (nil when detached) gets its stdio.
func (e *engine) execStart(ctx context.Context, x *execRecord, conn net.Conn, width, height uint16) error {
	x.mu.Lock()
	if x.started {
		x.mu.Unlock()
		return newKindError(errdefs.ErrConflict, "Error: Exec command %s has already run", x.id)
	}
	x.started = true
	x.mu.Unlock()
	var streams *container.Streams
	if conn != nil {
		s, err := x.exec.Attach(ctx, container.AttachOptions{Stdin: x.cfg.AttachStdin, Stdout: x.cfg.AttachStdout, Stderr: x.cfg.AttachStderr})
		if err != nil {
			return err
		}
		streams = s
	}
	pid, err := x.exec.Start(ctx)
	if err != nil {
		if streams != nil {
			streams.Close()
		}
		code := 126
		var se *container.StartError
		if errors.As(err, &se) {
			code = se.ExitCode
		}
		x.mu.Lock()
		x.exitCode = &code
		x.mu.Unlock()
		return err
	}
	if x.cfg.Tty && width > 0 && height > 0 {
		_ = x.exec.Resize(ctx, width, height)
	}
	x.mu.Lock()
	x.running, x.pid = true, pid
	x.mu.Unlock()
	if r, err := e.store.get(x.containerID); err == nil {
		e.publish(r, "exec_start: "+joinArgs(x.cfg.Cmd), map[string]string{"execID": x.id})
	}
	if streams != nil {
		e.goOwned(func(ctx context.Context) { splice(ctx, conn, streams, x.cfg.Tty) })
	}
	e.goOwned(func(ctx context.Context) { e.reapExec(ctx, x) })
	return nil
}

func (e *engine) reapExec(ctx context.Context, x *execRecord) {
	ex, err := x.exec.Wait(ctx)
	code := ex.ExitCode
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		code = 137
	}
	x.mu.Lock()
	x.running, x.exitCode = false, &code
	x.mu.Unlock()
	if r, err := e.store.get(x.containerID); err == nil {
		e.publish(r, "exec_die", map[string]string{"execID": x.id, "exitCode": fmt.Sprint(code)})
	}
}

// inspect returns docker's ExecInspectResponse.
func (x *execRecord) inspect() ctypes.ExecInspectResponse {
	x.mu.Lock()
	defer x.mu.Unlock()
	var ec *int
	if x.exitCode != nil {
		c := *x.exitCode
		ec = &c
	}
	priv := x.cfg.Privileged
	pc := &ctypes.ExecProcessConfig{Tty: x.cfg.Tty, Privileged: &priv, User: x.cfg.User}
	if len(x.cfg.Cmd) > 0 {
		pc.Entrypoint, pc.Arguments = x.cfg.Cmd[0], append([]string{}, x.cfg.Cmd[1:]...)
	}
	return ctypes.ExecInspectResponse{
		ID: x.id, Running: x.running, ExitCode: ec, ProcessConfig: pc,
		OpenStdin: x.cfg.AttachStdin, OpenStdout: x.cfg.AttachStdout, OpenStderr: x.cfg.AttachStderr,
		ContainerID: x.containerID, Pid: x.pid,
	}
}

func joinArgs(a []string) string {
	out := ""
	for i, s := range a {
		if i > 0 {
			out += " "
		}
		out += s
	}
	return out
}
