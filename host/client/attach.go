package client

import (
	"context"
	"errors"

	"github.com/spf13/cobra"
)

type attachOptions struct {
	noStdin    bool
	sigProxy   bool
	detachKeys string
}

func (c *cli) newAttachCommand() *cobra.Command {
	var o attachOptions
	cmd := &cobra.Command{
		Use:                   "attach [OPTIONS] CONTAINER",
		Short:                 "Attach local standard input, output, and error streams to a running container",
		Args:                  requiresExactArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runAttach(cmd.Context(), o, args[0])
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.noStdin, "no-stdin", false, "Do not attach STDIN")
	f.BoolVar(&o.sigProxy, "sig-proxy", true, "Proxy all received signals to the process")
	f.StringVar(&o.detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	return cmd
}

// runAttach attaches to a running container until its output ends, then
// exits with its exit code; detaching leaves it running and exits 0.
func (c *cli) runAttach(ctx context.Context, o attachOptions, ref string) error {
	a, err := c.agent(ctx)
	if err != nil {
		return err
	}
	info, err := c.inspectContainer(ctx, a, ref)
	if err != nil {
		return err
	}
	if info.State != nil {
		if !info.State.Running {
			return errors.New("You cannot attach to a stopped container, start it first")
		}
		if info.State.Paused {
			return errors.New("You cannot attach to a paused container, unpause it first")
		}
	}
	tty, openStdin := false, false
	if info.Config != nil {
		tty, openStdin = info.Config.Tty, info.Config.OpenStdin
	}
	spec := attachSpec{
		tty: tty, stdin: openStdin && !o.noStdin, stdout: true, stderr: true,
		detachKeys: o.detachKeys, sigProxy: o.sigProxy && !tty,
	}
	err = c.attachSession(ctx, a, info.ID, spec)
	if errors.Is(err, errDetached) {
		return nil
	}
	if err != nil {
		return err
	}
	return c.waitExit(ctx, a, info.ID)
}
