package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/spf13/cobra"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

type execOptions struct {
	interactive bool
	tty         bool
	detach      bool
	env         *listValue
	envFile     []string
	workdir     string
	user        string
	privileged  bool
	detachKeys  string
}

func (c *cli) newExecCommand() *cobra.Command {
	o := execOptions{env: newListValue("list", nil)}
	cmd := &cobra.Command{
		Use:                   "exec [OPTIONS] CONTAINER COMMAND [ARG...]",
		Short:                 "Execute a command in a running container",
		Args:                  requiresMinArgs(2),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runExec(cmd.Context(), o, args[0], args[1:])
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.BoolVarP(&o.interactive, "interactive", "i", false, "Keep STDIN open even if not attached")
	f.BoolVarP(&o.tty, "tty", "t", false, "Allocate a pseudo-TTY")
	f.BoolVarP(&o.detach, "detach", "d", false, "Detached mode: run command in the background")
	f.VarP(o.env, "env", "e", "Set environment variables")
	f.StringArrayVar(&o.envFile, "env-file", nil, "Read in a file of environment variables")
	f.StringVarP(&o.workdir, "workdir", "w", "", "Working directory inside the container")
	f.StringVarP(&o.user, "user", "u", "", "Username or UID (format: \"<name|uid>[:<group|gid>]\")")
	f.BoolVar(&o.privileged, "privileged", false, "Give extended privileges to the command")
	f.StringVar(&o.detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	return cmd
}

// runExec runs a command in a running container and exits with its exit
// code (126/127 when it cannot be run or found, as docker).
func (c *cli) runExec(ctx context.Context, o execOptions, ref string, command []string) error {
	env, err := readKVFiles(o.envFile, o.env.values, true)
	if err != nil {
		return fmt.Errorf("--env-file: %w", err)
	}
	if _, err := parseDetachKeys(o.detachKeys); err != nil {
		return err
	}
	cfg := container.ExecCreateRequest{
		User: o.user, Privileged: o.privileged, Tty: o.tty, AttachStdin: o.interactive && !o.detach,
		AttachStdout: !o.detach, AttachStderr: !o.detach, DetachKeys: o.detachKeys,
		Env: env, WorkingDir: o.workdir, Cmd: command,
	}
	h, w := terminalSize(c.out)
	if o.tty && h > 0 {
		cfg.ConsoleSize = &[2]uint{uint(h), uint(w)}
	}
	body, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	a, err := c.agent(ctx)
	if err != nil {
		return err
	}
	created, err := a.Containers.ExecCreate(ctx, &agentv1.ExecCreateRequest{Id: ref, Config: body})
	if err != nil {
		return containerError(ref, err)
	}
	execID := created.ExecId
	if o.detach {
		_, err := a.Containers.ExecStart(ctx, &agentv1.ExecStartRequest{ExecId: execID, Detach: true, Tty: o.tty})
		if err != nil {
			return startError(err)
		}
		return nil
	}
	conn, sid, err := a.openStream(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	err = c.execSession(ctx, a, ref, execID, conn, o, &agentv1.ExecStartRequest{
		ExecId: execID, StreamId: sid, Tty: o.tty, Height: h, Width: w,
	})
	if errors.Is(err, errDetached) {
		return nil
	}
	if err != nil {
		return err
	}
	return c.execExitCode(ctx, a, execID)
}

func (c *cli) execSession(ctx context.Context, a *agentConn, ref, execID string, conn net.Conn, o execOptions, start *agentv1.ExecStartRequest) error {
	keys, _ := parseDetachKeys(o.detachKeys)
	sess := &stdioSession{tty: o.tty, stdout: c.out, stderr: c.errOut, detachKeys: keys}
	if o.tty {
		sess.stderr = c.out
	}
	var raw *terminal
	if o.interactive {
		sess.stdin = c.in
		if o.tty {
			var err error
			if raw, err = makeRaw(c.in); err != nil {
				return fmt.Errorf("cannot put the terminal in raw mode: %w", err)
			}
		}
	}
	defer raw.restore()
	if _, err := a.Containers.ExecStart(ctx, start); err != nil {
		return startError(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if o.tty {
		c.resizer(sctx, a, ref, execID)
	}
	return sess.copy(sctx, conn)
}

// execExitCode waits for the exec to end (its output has already ended)
// and returns its exit code as the error to exit with.
func (c *cli) execExitCode(ctx context.Context, a *agentConn, execID string) error {
	for {
		r, err := a.Containers.ExecInspect(ctx, &agentv1.ExecInspectRequest{ExecId: execID})
		if err != nil {
			return fromAgent(err)
		}
		if !r.Running {
			if r.ExitCode != 0 {
				return withExitCode(int(r.ExitCode), nil)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
