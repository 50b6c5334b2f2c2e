package client

import (
	"context"
	"fmt"
	"strings"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

type systemPruneOptions struct {
	all     bool
	volumes bool
	force   bool
	filters []string
}

func (c *cli) newSystemPruneCommand() *cobra.Command {
	var o systemPruneOptions
	cmd := &cobra.Command{
		Use:                   "prune [OPTIONS]",
		Short:                 "Remove unused data",
		Args:                  requiresNoArgs,
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runSystemPrune(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.all, "all", "a", false, "Remove all unused images not just dangling ones")
	f.BoolVar(&o.volumes, "volumes", false, "Prune anonymous volumes")
	f.BoolVarP(&o.force, "force", "f", false, "Do not prompt for confirmation")
	f.StringArrayVar(&o.filters, "filter", nil, `Provide filter values (e.g. "label=<key>=<value>")`)
	return cmd
}

// systemPruneWarning is docker's confirmation text for what will go.
// berth has no build cache, so that line is left out.
func systemPruneWarning(o systemPruneOptions) string {
	items := []string{"all stopped containers", "all networks not used by at least one container"}
	if o.volumes {
		items = append(items, "all anonymous volumes not used by at least one container")
	}
	if o.all {
		items = append(items, "all images without at least one container associated to them")
	} else {
		items = append(items, "all dangling images")
	}
	var b strings.Builder
	b.WriteString("WARNING! This will remove:")
	for _, it := range items {
		b.WriteString("\n  - " + it)
	}
	if len(o.filters) > 0 {
		b.WriteString("\n\n  Items to be pruned will be filtered with:")
		for _, f := range o.filters {
			b.WriteString("\n  - " + f)
		}
	}
	b.WriteString("\n\nAre you sure you want to continue?")
	return b.String()
}

// runSystemPrune prunes containers, networks, volumes (--volumes) and
// images in docker's order, then prints the total space reclaimed.
func (c *cli) runSystemPrune(ctx context.Context, o systemPruneOptions) error {
	if err := checkFilters(o.filters); err != nil {
		return err
	}
	if !o.force && !confirm(c.in, c.out, systemPruneWarning(o)) {
		return nil
	}
	total, err := c.pruneContainers(ctx, o.filters)
	if err != nil {
		return err
	}
	if err := c.pruneNetworks(ctx, o.filters); err != nil {
		return err
	}
	if o.volumes {
		n, err := c.pruneVolumes(ctx, false, o.filters)
		if err != nil {
			return err
		}
		total += n
	}
	a, err := c.agent(ctx)
	if err != nil {
		return err
	}
	r, err := a.Images.Prune(ctx, &agentv1.PruneImagesRequest{All: o.all, Filters: o.filters})
	if err != nil {
		return fromAgent(err)
	}
	if len(r.Deleted) > 0 {
		fmt.Fprintln(c.out, "Deleted Images:")
		printDeleteItems(c, r.Deleted, "untagged: ", "deleted: ")
		fmt.Fprintln(c.out)
	}
	total += r.SpaceReclaimed
	fmt.Fprintln(c.out, "Total reclaimed space:", units.HumanSize(float64(total)))
	return nil
}
