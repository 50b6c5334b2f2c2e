package client

import (
	"fmt"

	"github.com/spf13/cobra"
)

// newSystemCommand is `berth system`: df, info and prune.
func (c *cli) newSystemCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:                   "system COMMAND",
		Short:                 "Manage the engine",
		DisableFlagsInUseLine: true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			return fmt.Errorf("%s: '%s %s' is not a %s command.\nSee '%s --help'",
				cmd.Root().Name(), cmd.Name(), args[0], cmd.Root().Name(), cmd.CommandPath())
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(cmd.ErrOrStderr())
			return cmd.Help()
		},
	}
	cmd.AddCommand(
		c.newSystemDfCommand(),
		c.newInfoCommand(),
		c.newSystemPruneCommand(),
	)
	return cmd
}
