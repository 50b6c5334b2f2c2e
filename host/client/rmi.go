package client

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// rmiOptions are the flags of `berth rmi` / `berth image rm`.
type rmiOptions struct {
	force   bool
	noPrune bool
}

func (c *cli) newRmiCommand() *cobra.Command { return c.newImageRmCommand("rmi") }

func (c *cli) newImageRmCommand(use string, aliases ...string) *cobra.Command {
	var o rmiOptions
	cmd := &cobra.Command{
		Use:                   use + " [OPTIONS] IMAGE [IMAGE...]",
		Aliases:               aliases,
		Short:                 "Remove one or more images",
		Args:                  requiresMinArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runRmi(cmd.Context(), o, args)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.force, "force", "f", false, "Force removal of the image")
	f.BoolVar(&o.noPrune, "no-prune", false, "Do not delete untagged parents")
	return cmd
}

// runRmi removes each image in turn, printing docker's "Untagged:" and
// "Deleted:" lines; a failure for one image does not stop the others, and
// all failures are reported at the end (exit status 1).
func (c *cli) runRmi(ctx context.Context, o rmiOptions, refs []string) error {
	a, err := c.agent(ctx)
	if err != nil {
		return err
	}
	var failed []string
	for _, ref := range refs {
		if !looksLikeImageID(ref) {
			if _, err := parseImageRef(ref); err != nil {
				failed = append(failed, "Error: "+err.Error())
				continue
			}
		}
		resp, err := a.Images.Remove(ctx, &agentv1.RemoveImageRequest{Ref: ref, Force: o.force, NoPrune: o.noPrune})
		if err != nil {
			if ctx.Err() != nil {
				return withExitCode(130, nil)
			}
			failed = append(failed, "Error response from daemon: "+cleanDaemonMessage(noSuchImage(ref, fromAgent(err)).Error()))
			continue
		}
		printDeleteItems(c, resp.Items, "Untagged: ", "Deleted: ")
	}
	if len(failed) > 0 {
		return withExitCode(1, errors.New(strings.Join(failed, "\n")))
	}
	return nil
}

// printDeleteItems prints what a removal did, one line per item.
func printDeleteItems(c *cli, items []*agentv1.ImageDeleteItem, untagged, deleted string) {
	for _, it := range items {
		if it.Deleted != "" {
			fmt.Fprintf(c.out, "%s%s\n", deleted, it.Deleted)
		} else {
			fmt.Fprintf(c.out, "%s%s\n", untagged, familiarTagOrDigest(it.Untagged))
		}
	}
}
