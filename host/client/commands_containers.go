package client

import "github.com/spf13/cobra"

// containerCommands are the container, volume, network and system
// commands, added to the root by addCommands.
func (c *cli) containerCommands() []*cobra.Command {
	return []*cobra.Command{
		c.newRunCommand(),
		c.newCreateCommand(),
		c.newStartCommand(),
		c.newStopCommand(),
		c.newRestartCommand(),
		c.newKillCommand(),
		c.newRmCommand(),
		c.newPsCommand(),
		c.newLogsCommand(),
		c.newExecCommand(),
		c.newAttachCommand(),
		c.newInspectCommand(),
		c.newStatsCommand(),
		c.newPauseCommand(),
		c.newUnpauseCommand(),
		c.newWaitCommand(),
		c.newRenameCommand(),
		c.newTopCommand(),
		c.newPortCommand(),
		c.newCpCommand(),
		c.newDiffCommand(),
		c.newCommitCommand(),
		c.newContainerCommand(),
		c.newVolumeCommand(),
		c.newNetworkCommand(),
		c.newSystemCommand(),
	}
}
