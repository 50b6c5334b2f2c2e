package client

import (
	"github.com/spf13/cobra"
)

// newMachineCommand groups the machine lifecycle commands.
func (c *cli) newMachineCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "machine",
		Short: "Manage machines (the VMs, or the host itself, that run the engine)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(
		c.newMachineInitCommand(),
		c.newMachineStartCommand(),
		c.newMachineStopCommand(),
		c.newMachineRmCommand(),
		c.newMachineLsCommand(),
		c.newMachineInspectCommand(),
		c.newMachineShellCommand(),
		c.newMachineDaemonCommand(),
	)
	return cmd
}

// machineArg is the machine a command names, else the selected one.
func (c *cli) machineArg(args []string) string {
	if len(args) > 0 {
		return args[0]
	}
	return c.machine
}
