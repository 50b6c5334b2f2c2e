package client

import "github.com/spf13/cobra"

// newImagesCommand is `berth images`, docker's shorthand for `image ls`.
func (c *cli) newImagesCommand() *cobra.Command {
	return c.newImageLsCommand("images")
}
