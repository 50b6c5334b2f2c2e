package client

import "github.com/spf13/cobra"

// lazyCommand is a top-level command by name, built only when needed:
// building every command with its flags is most of the CLI's start-up
// time, and a command line runs one of them (see buildCommands).
type lazyCommand struct {
	name  string // the command's name (its Use's first word)
	build func() *cobra.Command
}

// commandSet lists every berth command. Each lives in its own file.
func (c *cli) commandSet() []lazyCommand {
	return append([]lazyCommand{
		{"machine", c.newMachineCommand},
		{"version", c.newVersionCommand},
		{"info", c.newInfoCommand},
		{"doctor", c.newDoctorCommand},
		// images
		{"build", c.newBuildCommand},
		{"pull", c.newPullCommand},
		{"push", c.newPushCommand},
		{"login", c.newLoginCommand},
		{"logout", c.newLogoutCommand},
		{"history", func() *cobra.Command { return c.newHistoryCommand("history") }},
		{"images", c.newImagesCommand},
		{"rmi", c.newRmiCommand},
		{"tag", c.newTagCommand},
		{"load", c.newLoadCommand},
		{"save", c.newSaveCommand},
		{"image", c.newImageCommand},
	}, c.containerCommands()...)
}
