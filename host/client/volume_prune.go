package client

import (
	"context"
	"fmt"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// Docker's volume prune warnings.
const (
	volumePruneWarning    = "WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue?"
	volumePruneAllWarning = "WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue?"
)

func (c *cli) newVolumePruneCommand() *cobra.Command {
	var o pruneOptions
	cmd := &cobra.Command{
		Use:                   "prune [OPTIONS]",
		Short:                 "Remove unused local volumes",
		Args:                  requiresNoArgs,
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFilters(o.filters); err != nil {
				return err
			}
			warning := volumePruneWarning
			if o.all {
				warning = volumePruneAllWarning
			}
			if !o.force && !confirm(c.in, c.out, warning) {
				fmt.Fprintln(c.out, "Total reclaimed space: 0B")
				return nil
			}
			n, err := c.pruneVolumes(cmd.Context(), o.all, o.filters)
			if err != nil {
				return err
			}
			fmt.Fprintln(c.out, "Total reclaimed space:", units.HumanSize(float64(n)))
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.all, "all", "a", false, "Remove all unused volumes, not just anonymous ones")
	f.BoolVarP(&o.force, "force", "f", false, "Do not prompt for confirmation")
	f.StringArrayVar(&o.filters, "filter", nil, `Provide filter values (e.g. "label=<label>")`)
	return cmd
}

func (c *cli) pruneVolumes(ctx context.Context, all bool, filters []string) (uint64, error) {
	a, err := c.agent(ctx)
	if err != nil {
		return 0, err
	}
	r, err := a.Volumes.Prune(ctx, &agentv1.PruneVolumesRequest{All: all, Filters: filters})
	if err != nil {
		return 0, fromAgent(err)
	}
	printDeleted(c, "Deleted Volumes:", r.Deleted)
	return r.SpaceReclaimed, nil
}
