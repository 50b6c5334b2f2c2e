package container

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Exec is a process created in a running container by Container.Exec.
type Exec struct {
	c   *Container
	cfg ExecConfig
}

// Exec prepares cfg.Cmd to run in the container (docker exec): the process
// inherits the container's environment, capabilities and limits, with
// cfg's env, user and working dir applied. Attach to it with Attach, then
// Start it, then Wait.
func (c *Container) Exec(ctx context.Context, cfg ExecConfig) (*Exec, error) {
	if cfg.ID == "" || len(cfg.Cmd) == 0 {
		return nil, fmt.Errorf("exec needs an id and a command: %w", errdefs.ErrInvalidArgument)
	}
	proc, err := c.execProcess(cfg)
	if err != nil {
		return nil, err
	}
	_, _, err = shimCall(ctx, c.dir, shimRequest{Op: opExecCreate, ExecID: cfg.ID, Process: proc, Stdin: cfg.Stdin})
	if errdefs.IsNotFound(err) || errdefs.IsConflict(err) {
		return nil, fmt.Errorf("container %s is not running: %w", c.id, errdefs.ErrConflict)
	}
	if err != nil {
		return nil, err
	}
	return &Exec{c: c, cfg: cfg}, nil
}

func (c *Container) execProcess(cfg ExecConfig) (*specs.Process, error) {
	var spec specs.Spec
	if err := readJSON(filepath.Join(c.dir, "config.json"), &spec); err != nil {
		return nil, fmt.Errorf("container %s: read spec: %w", c.id, err)
	}
	p := *spec.Process
	p.Args, p.Terminal, p.ConsoleSize = cfg.Cmd, cfg.Tty, nil
	p.Env = replaceOrAppendEnv(append([]string{}, p.Env...), cfg.Env)
	if cfg.Tty && !hasEnv(cfg.Env, "TERM") {
		p.Env = replaceOrAppendEnv(p.Env, []string{"TERM=xterm"})
	}
	if cfg.WorkingDir != "" {
		p.Cwd = cfg.WorkingDir
	}
	if cfg.User != "" {
		u, err := ResolveUser(c.rootfs(), cfg.User, nil)
		if err != nil {
			return nil, err
		}
		p.User = specs.User{UID: u.UID, GID: u.GID, AdditionalGids: u.AdditionalGids}
	}
	if cfg.Privileged {
		p.Capabilities = &specs.LinuxCapabilities{Bounding: allCaps, Effective: allCaps, Permitted: allCaps}
	}
	return &p, nil
}

// Attach connects to the exec's stdio; call it before Start.
func (e *Exec) Attach(ctx context.Context, o AttachOptions) (*Streams, error) {
	if o.Stdin && !e.cfg.Stdin {
		o.Stdin = false
	}
	return attachStreams(ctx, e.c.dir, e.cfg.ID, o, e.cfg.Tty)
}

// Start runs the process and returns its pid. A command that cannot be
// executed yields a *StartError (126/127).
func (e *Exec) Start(ctx context.Context) (int, error) {
	resp, _, err := shimCall(ctx, e.c.dir, shimRequest{Op: opExecStart, ExecID: e.cfg.ID})
	if err != nil {
		return 0, err
	}
	return resp.Pid, nil
}

// Wait returns the process's exit once it has ended.
func (e *Exec) Wait(ctx context.Context) (ExitStatus, error) {
	resp, _, err := shimCall(ctx, e.c.dir, shimRequest{Op: opExecWait, ExecID: e.cfg.ID})
	if err != nil {
		return ExitStatus{}, err
	}
	if resp.Exit == nil {
		return ExitStatus{}, fmt.Errorf("exec %s: no exit status: %w", e.cfg.ID, errdefs.ErrUnknown)
	}
	return *resp.Exit, nil
}

// Resize sets the exec's terminal size.
func (e *Exec) Resize(ctx context.Context, width, height uint16) error {
	_, _, err := shimCall(ctx, e.c.dir, shimRequest{Op: opResize, ExecID: e.cfg.ID, Width: width, Height: height})
	return err
}
