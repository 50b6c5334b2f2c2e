package client

import (
	"context"

	"github.com/spf13/cobra"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

func (c *cli) newTagCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:                   "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
		Short:                 "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
		Args:                  requiresExactArgs(2),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runTag(cmd.Context(), args[0], args[1])
		},
	}
	return cmd
}

// runTag gives the image source another name, target.
func (c *cli) runTag(ctx context.Context, source, target string) error {
	if !looksLikeImageID(source) {
		if _, err := parseImageRef(source); err != nil {
			return err
		}
	}
	if _, err := parseImageRef(target); err != nil {
		return err
	}
	a, err := c.agent(ctx)
	if err != nil {
		return err
	}
	if _, err := a.Images.Tag(ctx, &agentv1.TagImageRequest{Source: source, Target: target}); err != nil {
		return &daemonError{err: noSuchImage(source, fromAgent(err))}
	}
	return nil
}
