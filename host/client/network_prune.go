package client

import (
	"context"

	"github.com/spf13/cobra"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

const networkPruneWarning = "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?"

func (c *cli) newNetworkPruneCommand() *cobra.Command {
	var o pruneOptions
	cmd := &cobra.Command{
		Use:                   "prune [OPTIONS]",
		Short:                 "Remove all unused networks",
		Args:                  requiresNoArgs,
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFilters(o.filters); err != nil {
				return err
			}
			if !o.force && !confirm(c.in, c.out, networkPruneWarning) {
				return nil
			}
			return c.pruneNetworks(cmd.Context(), o.filters)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.force, "force", "f", false, "Do not prompt for confirmation")
	f.StringArrayVar(&o.filters, "filter", nil, `Provide filter values (e.g. "until=<timestamp>")`)
	return cmd
}

// pruneNetworks removes unused custom networks and prints docker's
// "Deleted Networks:" block.
func (c *cli) pruneNetworks(ctx context.Context, filters []string) error {
	a, err := c.agent(ctx)
	if err != nil {
		return err
	}
	r, err := a.Networks.Prune(ctx, &agentv1.PruneNetworksRequest{Filters: filters})
	if err != nil {
		return fromAgent(err)
	}
	printDeleted(c, "Deleted Networks:", r.Deleted)
	return nil
}
