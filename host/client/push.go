package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// pushOptions are the flags of `berth push`.
type pushOptions struct {
	ref     string
	allTags bool
	quiet   bool
}

func (c *cli) newPushCommand() *cobra.Command {
	var o pushOptions
	cmd := &cobra.Command{
		Use:                   "push [OPTIONS] NAME[:TAG]",
		Short:                 "Upload an image to a registry",
		Args:                  requiresExactArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.ref = args[0]
			return c.runPush(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.allTags, "all-tags", "a", false, "Push all tags of an image to the repository")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Suppress verbose output")
	f.Bool("disable-content-trust", true, "Skip image signing")
	return cmd
}

// runPush pushes through the agent, drawing docker's progress.
func (c *cli) runPush(ctx context.Context, o pushOptions) error {
	ref, err := parseImageRef(o.ref)
	if err != nil {
		return err
	}
	if o.allTags && strings.Contains(o.ref[strings.LastIndex(o.ref, "/")+1:], ":") {
		return fmt.Errorf("tag can't be used with --all-tags/-a")
	}
	auth := c.registryAuth(ctx, ref)
	a, err := c.agent(ctx)
	if err != nil {
		return err
	}
	st, err := a.Images.Push(ctx, &agentv1.PushRequest{Ref: o.ref, AllTags: o.allTags, Auth: auth})
	if err != nil {
		return pullError(ctx, err)
	}
	var p *progressPrinter
	if !o.quiet {
		fmt.Fprintf(c.out, "The push refers to repository [%s]\n", fullRepoName(ref.Context()))
		p = newProgressPrinter(c.out)
	}
	for {
		m, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return errors.New("the push ended before it was complete; try again")
		}
		if err != nil {
			return pullError(ctx, err)
		}
		if m.Done {
			if o.quiet {
				fmt.Fprintln(c.out, o.ref)
			}
			return nil
		}
		if p != nil {
			p.Print(progressLine{ID: m.Id, Status: m.Status, Current: m.Current, Total: m.Total})
		}
	}
}
