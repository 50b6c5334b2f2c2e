package client

import (
	"context"
	"fmt"
	"strings"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

const containerPruneWarning = `WARNING! This will remove all stopped containers.
Are you sure you want to continue?`

type pruneOptions struct {
	force   bool
	all     bool
	filters []string
}

func (c *cli) newContainerPruneCommand() *cobra.Command {
	var o pruneOptions
	cmd := &cobra.Command{
		Use:                   "prune [OPTIONS]",
		Short:                 "Remove all stopped containers",
		Args:                  requiresNoArgs,
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFilters(o.filters); err != nil {
				return err
			}
			if !o.force && !confirm(c.in, c.out, containerPruneWarning) {
				fmt.Fprintln(c.out, "Total reclaimed space: 0B")
				return nil
			}
			n, err := c.pruneContainers(cmd.Context(), o.filters)
			if err != nil {
				return err
			}
			fmt.Fprintln(c.out, "Total reclaimed space:", units.HumanSize(float64(n)))
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.force, "force", "f", false, "Do not prompt for confirmation")
	f.StringArrayVar(&o.filters, "filter", nil, `Provide filter values (e.g. "until=<timestamp>")`)
	return cmd
}

// pruneContainers removes stopped containers, prints docker's "Deleted
// Containers:" block, and returns the space reclaimed.
func (c *cli) pruneContainers(ctx context.Context, filters []string) (uint64, error) {
	a, err := c.agent(ctx)
	if err != nil {
		return 0, err
	}
	r, err := a.Containers.Prune(ctx, &agentv1.PruneRequest{Filters: filters})
	if err != nil {
		return 0, fromAgent(err)
	}
	printDeleted(c, "Deleted Containers:", r.Deleted)
	return r.SpaceReclaimed, nil
}

// printDeleted prints a prune's list of what it removed, followed by an
// empty line, when there is any.
func printDeleted(c *cli, title string, ids []string) {
	if len(ids) == 0 {
		return
	}
	fmt.Fprintln(c.out, title)
	for _, id := range ids {
		fmt.Fprintln(c.out, id)
	}
	fmt.Fprintln(c.out)
}

// checkFilters rejects a filter that is not KEY=VALUE, as docker does.
func checkFilters(filters []string) error {
	for _, f := range filters {
		if !strings.Contains(f, "=") {
			return withExitCode(125, errBadFilter(f))
		}
	}
	return nil
}
