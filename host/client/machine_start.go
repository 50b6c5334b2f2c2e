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
	m, err := c.machines().Start(ctx, name, c.errOut)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.out, m.Name)
	return nil
}
