package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// runOptions are the flags of `run` beyond those it shares with create.
type runOptions struct {
	*containerOptions
	detach     bool
	sigProxy   bool
	detachKeys string
}

func (c *cli) newRunCommand() *cobra.Command {
	o := runOptions{containerOptions: newContainerOptions()}
	cmd := &cobra.Command{
		Use:                   "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short:                 "Create and run a new container from an image",
		Args:                  requiresMinArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.image, o.args = args[0], args[1:]
			return c.runRun(cmd.Context(), cmd, o)
		},
	}
	f := cmd.Flags()
	o.addFlags(f)
	f.BoolVarP(&o.detach, "detach", "d", false, "Run container in background and print container ID")
	f.BoolVar(&o.sigProxy, "sig-proxy", true, "Proxy received signals to the process")
	f.StringVar(&o.detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	return cmd
}

// runRun is docker's run: create (pulling as needed), then either start
// and print the id (-d), or attach, start, stream and exit with the
// container's exit code, removing it afterwards with --rm.
func (c *cli) runRun(ctx context.Context, cmd *cobra.Command, o runOptions) error {
	if o.detach && len(o.attach.values) > 0 {
		return usageError(cmd, errors.New("conflicting options: cannot specify both --attach and --detach"))
	}
	if _, err := parseDetachKeys(o.detachKeys); err != nil {
		return usageError(cmd, err)
	}
	// An attached --rm container is removed here once its exit code is
	// known: an agent-side removal could win the race with Wait and lose
	// the exit code. Detached ones are removed by the agent.
	clientRemove := o.autoRemove && !o.detach
	if _, err := o.toConfig(cmd.Flags()); err != nil {
		return usageError(cmd, err)
	}
	if clientRemove {
		o.autoRemove = false
	}
	req, err := c.prepareCreate(cmd, o.containerOptions)
	if err != nil {
		return err
	}
	a, err := c.agent(ctx)
	if err != nil {
		return withExitCode(125, err)
	}
	var early earlyStream
	if !o.detach { // the attach stream is opened while the agent creates
		early = a.openStreamEarly(ctx)
	}
	id, err := c.create(ctx, a, o.containerOptions, req)
	if err != nil {
		early.discard()
		return err
	}
	published := len(o.publish) > 0 || o.publishAll
	start := func() error {
		var err error
		if published {
			err = c.startContainer(ctx, a, id)
		} else { // no ports to probe or forward: no need to look them up
			_, err = a.Containers.Start(ctx, &agentv1.ContainerRequest{Id: id})
		}
		if err != nil {
			return startError(err)
		}
		return nil
	}
	if o.detach {
		if err := start(); err != nil {
			return err
		}
		fmt.Fprintln(c.out, id)
		return nil
	}
	return c.runAttachedContainer(ctx, a, id, o, start, early, clientRemove, published)
}

func (c *cli) runAttachedContainer(ctx context.Context, a *agentConn, id string, o runOptions, start func() error, early earlyStream, remove, published bool) error {
	attach := map[string]bool{}
	for _, s := range o.attach.values {
		attach[s] = true
	}
	if len(attach) == 0 {
		attach["stdout"], attach["stderr"] = true, true
	}
	spec := attachSpec{
		tty: o.tty, stdin: o.stdin || attach["stdin"], stdout: attach["stdout"], stderr: attach["stderr"],
		detachKeys: o.detachKeys, sigProxy: o.sigProxy && !o.tty, start: start, stream: early,
	}
	err := c.attachSession(ctx, a, id, spec)
	if errors.Is(err, errDetached) {
		return nil
	}
	var ee *exitError
	if err != nil && !errors.As(err, &ee) {
		err = withExitCode(125, err)
	}
	if err == nil {
		err = c.awaitExit(ctx, a, id, published)
	}
	if remove {
		if _, rerr := a.Containers.Remove(context.WithoutCancel(ctx), &agentv1.RemoveContainerRequest{Id: id, Force: true, Volumes: true}); rerr != nil {
			fmt.Fprintf(c.errOut, "Error removing container %s: %v\n", shortID(id), fromAgent(rerr))
		}
	}
	return err
}
