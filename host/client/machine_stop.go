package client

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

func (c *cli) newMachineStopCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "stop [NAME]",
		Short: "Stop a machine and its agent",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.machineStop(cmd.Context(), c.machineArg(args))
		},
	}
}

func (c *cli) machineStop(ctx context.Context, name string) error {
	if err := c.machines().Stop(ctx, name); err != nil {
		return err
	}
	fmt.Fprintln(c.out, name)
	return nil
}
