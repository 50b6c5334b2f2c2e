package client

// containerCommands are the container, volume, network and system
// commands, part of commandSet.
func (c *cli) containerCommands() []lazyCommand {
	return []lazyCommand{
		{"run", c.newRunCommand},
		{"create", c.newCreateCommand},
		{"start", c.newStartCommand},
		{"stop", c.newStopCommand},
		{"restart", c.newRestartCommand},
		{"kill", c.newKillCommand},
		{"rm", c.newRmCommand},
		{"ps", c.newPsCommand},
		{"logs", c.newLogsCommand},
		{"exec", c.newExecCommand},
		{"attach", c.newAttachCommand},
		{"inspect", c.newInspectCommand},
		{"stats", c.newStatsCommand},
		{"pause", c.newPauseCommand},
		{"unpause", c.newUnpauseCommand},
		{"wait", c.newWaitCommand},
		{"rename", c.newRenameCommand},
		{"top", c.newTopCommand},
		{"port", c.newPortCommand},
		{"cp", c.newCpCommand},
		{"diff", c.newDiffCommand},
		{"commit", c.newCommitCommand},
		{"container", c.newContainerCommand},
		{"volume", c.newVolumeCommand},
		{"network", c.newNetworkCommand},
		{"system", c.newSystemCommand},
	}
}
