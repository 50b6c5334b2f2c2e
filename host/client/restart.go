package client

import "github.com/spf13/cobra"

func (c *cli) newRestartCommand() *cobra.Command {
	var o stopOptions
	cmd := containerCommand("restart [OPTIONS] CONTAINER [CONTAINER...]", "Restart one or more containers", nil, 1,
		func(cmd *cobra.Command, args []string) error {
			return c.runStop(cmd.Context(), o, cmd.Flags().Changed("timeout") || cmd.Flags().Changed("time"), args, true)
		})
	addStopFlags(cmd, &o, true)
	return cmd
}
