package client

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/moby/moby/api/types/container"
	"github.com/spf13/cobra"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

type startOptions struct {
	attach     bool
	stdin      bool
	detachKeys string
}

func (c *cli) newStartCommand() *cobra.Command {
	var o startOptions
	cmd := containerCommand("start [OPTIONS] CONTAINER [CONTAINER...]", "Start one or more stopped containers", nil, 1,
		func(cmd *cobra.Command, args []string) error { return c.runStart(cmd.Context(), o, args) })
	f := cmd.Flags()
	f.BoolVarP(&o.attach, "attach", "a", false, "Attach STDOUT/STDERR and forward signals")
	f.BoolVarP(&o.stdin, "interactive", "i", false, "Attach container's STDIN")
	f.StringVar(&o.detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	return cmd
}

// runStart starts containers; with -a or -i (one container only) it
// attaches first and exits with the container's exit code.
func (c *cli) runStart(ctx context.Context, o startOptions, args []string) error {
	a, err := c.agent(ctx)
	if err != nil {
		return err
	}
	if !o.attach && !o.stdin {
		return c.forEachContainer(args, func(id string) error {
			return c.startContainer(ctx, a, id)
		})
	}
	if len(args) > 1 {
		return errors.New("you cannot start and attach multiple containers at once")
	}
	info, err := c.inspectContainer(ctx, a, args[0])
	if err != nil {
		return err
	}
	id := info.ID
	cfg := info.Config
	if cfg == nil {
		cfg = &container.Config{}
	}
	spec := attachSpec{
		tty: cfg.Tty, stdin: o.stdin && cfg.OpenStdin, stdout: cfg.AttachStdout || o.attach, stderr: cfg.AttachStderr || o.attach,
		detachKeys: o.detachKeys, sigProxy: !cfg.Tty,
		start: func() error {
			if err := c.startContainer(ctx, a, id); err != nil {
				return startError(err)
			}
			return nil
		},
	}
	err = c.attachSession(ctx, a, id, spec)
	if errors.Is(err, errDetached) {
		return nil
	}
	if err != nil {
		return err
	}
	return c.waitExit(ctx, a, id)
}

// inspectContainer returns docker's inspect document for a container.
func (c *cli) inspectContainer(ctx context.Context, a *agentConn, ref string) (*container.InspectResponse, error) {
	r, err := a.Containers.Inspect(ctx, &agentv1.InspectContainerRequest{Id: ref})
	if err != nil {
		return nil, containerError(ref, err)
	}
	var info container.InspectResponse
	if err := json.Unmarshal(r.Json, &info); err != nil {
		return nil, errors.New("the agent sent a container document that does not parse: " + err.Error())
	}
	return &info, nil
}
