package client

import (
	"github.com/spf13/cobra"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

func (c *cli) newUnpauseCommand() *cobra.Command {
	return containerCommand("unpause CONTAINER [CONTAINER...]", "Unpause all processes within one or more containers", nil, 1,
		func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			a, err := c.agent(ctx)
			if err != nil {
				return err
			}
			return c.forEachContainer(args, func(id string) error {
				_, err := a.Containers.Unpause(ctx, &agentv1.ContainerRequest{Id: id})
				return err
			})
		})
}
