package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

func (c *cli) newMachineRmCommand() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "rm [-f] [NAME...]",
		Aliases: []string{"remove", "delete"},
		Short:   "Remove machines and all their data",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{c.machine}
			}
			return c.machineRm(cmd.Context(), args, force)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "stop running machines first")
	return cmd
}

// machineRm removes each machine, printing its name, and reports every
// failure (exit status 1) after trying them all, as docker rm does.
func (c *cli) machineRm(ctx context.Context, names []string, force bool) error {
	var errs []error
	for _, n := range names {
		if err := c.machines().Remove(ctx, n, force); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintln(c.out, n)
	}
	return errors.Join(errs...)
}
