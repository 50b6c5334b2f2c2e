package client

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/spf13/cobra"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// machineShellOptions are `berth machine shell`'s flags.
type machineShellOptions struct {
	tty     bool // -t: always allocate a terminal
	noTTY   bool // -T: never allocate one
	env     []string
	workdir string
}

func (c *cli) newMachineShellCommand() *cobra.Command {
	var o machineShellOptions
	cmd := &cobra.Command{
		Use:   "shell [OPTIONS] [NAME] [-- COMMAND [ARG...]]",
		Short: "Open a shell (or run a command) in a machine, outside every container",
		Long: `Open a shell in the machine's VM (on the native driver: in the engine's
own namespaces on the host), or run COMMAND there, through the agent.
A terminal is allocated when no command is given and stdin is a terminal
(-t forces one, -T never allocates one). The command's exit code becomes
berth's.`,
		Example: "  berth machine shell\n  berth machine shell default -- dmesg\n  berth machine shell -- sh -c 'df -h'",
		RunE: func(cmd *cobra.Command, args []string) error {
			names, command := splitAtDash(cmd, args)
			if len(names) > 1 {
				return flagError(cmd, fmt.Errorf("\"berth machine shell\" takes at most one machine name before \"--\", got %q", strings.Join(names, " ")))
			}
			if o.tty && o.noTTY {
				return flagError(cmd, errors.New("-t and -T cannot be used together"))
			}
			return c.machineShell(cmd.Context(), o, c.machineArg(names), command)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.tty, "tty", "t", false, "Allocate a pseudo-TTY even when a command is given")
	f.BoolVarP(&o.noTTY, "no-tty", "T", false, "Never allocate a pseudo-TTY")
	f.StringArrayVarP(&o.env, "env", "e", nil, "Set environment variables (NAME=VALUE)")
	f.StringVarP(&o.workdir, "workdir", "w", "", "Working directory in the machine (default /)")
	return cmd
}

// splitAtDash returns the arguments before "--" and the command after it.
func splitAtDash(cmd *cobra.Command, args []string) (before, after []string) {
	n := cmd.ArgsLenAtDash()
	if n < 0 {
		return args, nil
	}
	return args[:n], args[n:]
}

// machineShell runs command (a login shell when empty) in machine name
// through the agent's System.Shell and exits with its exit code.
func (c *cli) machineShell(ctx context.Context, o machineShellOptions, name string, command []string) error {
	for _, kv := range o.env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return withExitCode(125, fmt.Errorf("invalid environment variable %q: use NAME=VALUE", kv))
		}
	}
	_, inTerm := terminalFd(c.in)
	tty := o.tty || (!o.noTTY && len(command) == 0 && inTerm)
	c.machine = name
	a, err := c.agent(ctx)
	if err != nil {
		return err
	}
	conn, sid, err := a.openStream(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	h, w := terminalSize(c.out)
	req := &agentv1.ShellRequest{StreamId: sid, Args: command, Env: o.env, Tty: tty, Height: h, Width: w, WorkingDir: o.workdir}
	sess := &stdioSession{tty: tty, stdin: c.in, stdout: c.out, stderr: c.errOut}
	if tty {
		sess.stderr = c.out
		raw, err := makeRaw(c.in)
		if err != nil {
			return fmt.Errorf("cannot put the terminal in raw mode: %w", err)
		}
		defer raw.restore()
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		r   *agentv1.ShellResponse
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := a.System.Shell(sctx, req)
		done <- result{r, err}
	}()
	copied := make(chan error, 1)
	go func() { copied <- sess.copy(sctx, conn) }()
	if tty {
		c.shellResizer(sctx, a, sid)
	}
	res := <-done
	if res.err != nil {
		conn.Close() // the agent never took the stream: end the copy
		<-copied
		return shellError(res.err)
	}
	if err := <-copied; err != nil {
		log.G(ctx).WithError(err).Debug("shell output")
	}
	if res.r.ExitCode != 0 {
		return withExitCode(int(res.r.ExitCode), nil)
	}
	return nil
}

// shellResizer keeps the shell's terminal at the local terminal's size
// until ctx ends.
func (c *cli) shellResizer(ctx context.Context, a *agentConn, sid string) {
	if _, ok := terminalFd(c.out); !ok {
		return
	}
	watchResize(ctx, func() {
		h, w := terminalSize(c.out)
		if h == 0 || w == 0 {
			return
		}
		if _, err := a.System.ResizeShell(ctx, &agentv1.ResizeShellRequest{StreamId: sid, Height: h, Width: w}); err != nil {
			log.G(ctx).WithError(err).Debug("resizing the shell's terminal")
		}
	})
}

// shellError gives an error of System.Shell the exit code a shell gives:
// 127 for a command that is not found, 126 for one that cannot run, 125
// for anything else (the machine, the agent).
func shellError(err error) error {
	err = fromAgent(err)
	switch {
	case errdefs.IsNotFound(err):
		return withExitCode(127, err)
	case errdefs.IsInvalidArgument(err):
		return withExitCode(126, err)
	case errdefs.IsNotImplemented(err):
		return withExitCode(125, fmt.Errorf("%w (the machine's agent is older than this berth: rebuild or update its VM image)", err))
	}
	return withExitCode(125, err)
}
