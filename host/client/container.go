package client

import "github.com/spf13/cobra"

// newContainerCommand is `berth container` and its subcommands, with
// docker's aliases (container ls = ps, container rm = rm, ...).
func (c *cli) newContainerCommand() *cobra.Command {
	return newGroupCommand("container", "Manage containers",
		c.newAttachCommand(),
		c.newCommitCommand(),
		c.newCpCommand(),
		c.newCreateCommand(),
		c.newDiffCommand(),
		c.newExecCommand(),
		c.newContainerInspectCommand(),
		c.newKillCommand(),
		c.newLogsCommand(),
		c.newContainerLsCommand("ls", "list", "ps"),
		c.newPauseCommand(),
		c.newPortCommand(),
		c.newContainerPruneCommand(),
		c.newRenameCommand(),
		c.newRestartCommand(),
		c.newContainerRmCommand("rm", "remove"),
		c.newRunCommand(),
		c.newStartCommand(),
		c.newStatsCommand(),
		c.newStopCommand(),
		c.newTopCommand(),
		c.newUnpauseCommand(),
		c.newWaitCommand(),
	)
}

func (c *cli) newContainerInspectCommand() *cobra.Command {
	o := inspectOptions{typ: "container"}
	cmd := &cobra.Command{
		Use:                   "inspect [OPTIONS] CONTAINER [CONTAINER...]",
		Short:                 "Display detailed information on one or more containers",
		Args:                  requiresMinArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runInspect(cmd.Context(), o, args)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.format, "format", "f", "", "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template")
	f.BoolVarP(&o.size, "size", "s", false, "Display total file sizes")
	return cmd
}
