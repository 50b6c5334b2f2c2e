package client

import "github.com/spf13/cobra"

// addCommands adds every berth command to root. Each lives in its own file.
func (c *cli) addCommands(root *cobra.Command) {
	root.AddCommand(
		c.newMachineCommand(),
		c.newVersionCommand(),
		c.newInfoCommand(),
		c.newDoctorCommand(),
		// images
		c.newBuildCommand(),
		c.newPullCommand(),
		c.newPushCommand(),
		c.newLoginCommand(),
		c.newLogoutCommand(),
		c.newHistoryCommand("history"),
		c.newImagesCommand(),
		c.newRmiCommand(),
		c.newTagCommand(),
		c.newLoadCommand(),
		c.newSaveCommand(),
		c.newImageCommand(),
	)
	root.AddCommand(c.containerCommands()...)
}
