package client

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/host/machine"
)

func (c *cli) newMachineStartCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "start [NAME]",
		Short: "Start a machine (in the background)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.machineStart(cmd.Context(), c.machineArg(args))
		},
	}
}

func (c *cli) machineStart(ctx context.Context, name string) error {
	// The default machine is created on first use, as every other command
	// that needs a machine does; other names must be made with init.
	start := c.machines().Start
	if name == machine.DefaultName {
		start = c.machines().EnsureRunning
	}
	m, err := start(ctx, name, c.errOut)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.out, m.Name)
	return nil
}
