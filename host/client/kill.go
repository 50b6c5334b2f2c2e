package client

import (
	"github.com/spf13/cobra"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

func (c *cli) newKillCommand() *cobra.Command {
	var signal string
	cmd := containerCommand("kill [OPTIONS] CONTAINER [CONTAINER...]", "Kill one or more running containers", nil, 1,
		func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			a, err := c.agent(ctx)
			if err != nil {
				return err
			}
			return c.forEachContainer(args, func(id string) error {
				_, err := a.Containers.Kill(ctx, &agentv1.KillContainerRequest{Id: id, Signal: signal})
				return err
			})
		})
	cmd.Flags().StringVarP(&signal, "signal", "s", "", "Signal to send to the container")
	return cmd
}
