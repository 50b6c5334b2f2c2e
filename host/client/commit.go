package client

import (
	"fmt"

	"github.com/spf13/cobra"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

type commitOptions struct {
	message string
	author  string
	changes []string
	pause   bool
}

func (c *cli) newCommitCommand() *cobra.Command {
	var o commitOptions
	cmd := containerCommand("commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]", "Create a new image from a container's changes", nil, 1,
		func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			ref := ""
			if len(args) == 2 {
				ref = args[1]
				if _, err := parseImageRef(ref); err != nil {
					return err
				}
			}
			a, err := c.agent(ctx)
			if err != nil {
				return err
			}
			r, err := a.Containers.Commit(ctx, &agentv1.CommitRequest{
				Id: args[0], Ref: ref, Comment: o.message, Author: o.author, Changes: o.changes, Pause: o.pause,
			})
			if err != nil {
				return containerError(args[0], err)
			}
			fmt.Fprintln(c.out, r.ImageId)
			return nil
		})
	cmd.Args = requiresRangeArgs(1, 2)
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.StringVarP(&o.message, "message", "m", "", "Commit message")
	f.StringVarP(&o.author, "author", "a", "", `Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")`)
	f.StringArrayVarP(&o.changes, "change", "c", nil, "Apply Dockerfile instruction to the created image")
	f.BoolVarP(&o.pause, "pause", "p", true, "Pause container during commit")
	return cmd
}
