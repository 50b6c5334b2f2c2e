package client

import (
	"fmt"

	"github.com/spf13/cobra"
)

// newImageCommand is `berth image` and its subcommands, with docker's
// aliases (image ls = images, image rm = rmi, ...).
func (c *cli) newImageCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:                   "image",
		Short:                 "Manage images",
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
		c.newImageInspectCommand(),
		c.newLoadCommand(),
		c.newImageLsCommand("ls", "images", "list"),
		c.newImagePruneCommand(),
		c.newPullCommand(),
		c.newImageRmCommand("rm", "rmi", "remove"),
		c.newSaveCommand(),
		c.newTagCommand(),
	)
	return cmd
}
