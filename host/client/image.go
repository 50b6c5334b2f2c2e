package client

import "github.com/spf13/cobra"

// newImageCommand is `berth image` and its subcommands, with docker's
// aliases (image ls = images, image rm = rmi, ...).
func (c *cli) newImageCommand() *cobra.Command {
	return newGroupCommand("image", "Manage images",
		c.newBuildCommand(),
		c.newHistoryCommand("history"),
		c.newImageInspectCommand(),
		c.newLoadCommand(),
		c.newImageLsCommand("ls", "images", "list"),
		c.newImagePruneCommand(),
		c.newPullCommand(),
		c.newPushCommand(),
		c.newImageRmCommand("rm", "rmi", "remove"),
		c.newSaveCommand(),
		c.newTagCommand(),
	)
}
