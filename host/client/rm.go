package client

import (
	"github.com/spf13/cobra"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

func (c *cli) newRmCommand() *cobra.Command { return c.newContainerRmCommand("rm") }

func (c *cli) newContainerRmCommand(use string, aliases ...string) *cobra.Command {
	var force, volumes, link bool
	cmd := containerCommand(use+" [OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers", aliases, 1,
		func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			a, err := c.agent(ctx)
			if err != nil {
				return err
			}
			return c.forEachContainer(args, func(id string) error {
				if _, err := a.Containers.Remove(ctx, &agentv1.RemoveContainerRequest{Id: id, Force: force, Volumes: volumes, Link: link}); err != nil {
					return err
				}
				c.syncForwards(ctx, a, id) // the ports are free when rm returns
				return nil
			})
		})
	f := cmd.Flags()
	f.BoolVarP(&force, "force", "f", false, "Force the removal of a running container (uses SIGKILL)")
	f.BoolVarP(&volumes, "volumes", "v", false, "Remove anonymous volumes associated with the container")
	f.BoolVarP(&link, "link", "l", false, "Remove the specified link")
	return cmd
}
