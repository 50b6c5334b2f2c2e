package client

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// Docker's prune warnings.
const (
	pruneAllWarning = `WARNING! This will remove all images without at least one container associated to them.
Are you sure you want to continue?`
	pruneDanglingWarning = `WARNING! This will remove all dangling images.
Are you sure you want to continue?`
)

// imagePruneOptions are the flags of `berth image prune`.
type imagePruneOptions struct {
	all     bool
	force   bool
	filters []string
}

func (c *cli) newImagePruneCommand() *cobra.Command {
	var o imagePruneOptions
	cmd := &cobra.Command{
		Use:                   "prune [OPTIONS]",
		Short:                 "Remove unused images",
		Args:                  requiresNoArgs,
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runImagePrune(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.all, "all", "a", false, "Remove all unused images, not just dangling ones")
	f.BoolVarP(&o.force, "force", "f", false, "Do not prompt for confirmation")
	f.StringArrayVar(&o.filters, "filter", nil, `Provide filter values (e.g. "until=<timestamp>")`)
	return cmd
}

// runImagePrune removes unused images after docker's confirmation prompt.
func (c *cli) runImagePrune(ctx context.Context, o imagePruneOptions) error {
	for _, f := range o.filters {
		if !strings.Contains(f, "=") {
			return withExitCode(125, errBadFilter(f))
		}
	}
	warning := pruneDanglingWarning
	if o.all {
		warning = pruneAllWarning
	}
	if !o.force && !confirm(c.in, c.out, warning) {
		fmt.Fprintln(c.out, "Total reclaimed space: 0B")
		return nil
	}
	a, err := c.agent(ctx)
	if err != nil {
		return err
	}
	resp, err := a.Images.Prune(ctx, &agentv1.PruneImagesRequest{All: o.all, Filters: o.filters})
	if err != nil {
		return fromAgent(err)
	}
	if len(resp.Deleted) > 0 {
		fmt.Fprintln(c.out, "Deleted Images:")
		printDeleteItems(c, resp.Deleted, "untagged: ", "deleted: ")
		fmt.Fprintln(c.out)
	}
	fmt.Fprintln(c.out, "Total reclaimed space:", units.HumanSize(float64(resp.SpaceReclaimed)))
	return nil
}

// confirm asks docker's "[y/N]" question and reads one line of answer.
func confirm(in io.Reader, out io.Writer, question string) bool {
	fmt.Fprintf(out, "%s [y/N] ", question)
	answer, _ := bufio.NewReader(in).ReadString('\n')
	return strings.EqualFold(strings.TrimSpace(answer), "y")
}
