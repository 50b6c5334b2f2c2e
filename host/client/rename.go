package client

import (
	"errors"
	"strings"

	"github.com/spf13/cobra"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

func (c *cli) newRenameCommand() *cobra.Command {
	cmd := containerCommand("rename CONTAINER NEW_NAME", "Rename a container", nil, 2,
		func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			oldName, newName := strings.TrimSpace(args[0]), strings.TrimSpace(args[1])
			if oldName == "" || newName == "" {
				return errors.New("neither old nor new names may be empty")
			}
			a, err := c.agent(ctx)
			if err != nil {
				return err
			}
			if _, err := a.Containers.Rename(ctx, &agentv1.RenameRequest{Id: oldName, Name: newName}); err != nil {
				return containerError(oldName, err)
			}
			return nil
		})
	cmd.Args = requiresExactArgs(2)
	return cmd
}
