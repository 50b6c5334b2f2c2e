package client

import "github.com/spf13/cobra"

// newSystemCommand is `berth system`: df, info and prune.
func (c *cli) newSystemCommand() *cobra.Command {
	return newGroupCommand("system COMMAND", "Manage the engine",
		c.newSystemDfCommand(),
		c.newInfoCommand(),
		c.newSystemPruneCommand(),
	)
}
