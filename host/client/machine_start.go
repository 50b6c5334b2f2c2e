package client

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
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
	// Start creates the default machine on first use, as every other
	// command that needs a machine does (other names must be made with
	// init), and also starts a machine whose VM stopped on its own, which
	// other commands refuse to boot again.
	m, err := c.machines().Start(ctx, name, c.errOut)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.out, m.Name)
	return nil
}
