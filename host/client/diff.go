package client

import (
	"fmt"

	"github.com/spf13/cobra"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

func (c *cli) newDiffCommand() *cobra.Command {
	cmd := containerCommand("diff CONTAINER", "Inspect changes to files or directories on a container's filesystem", nil, 1,
		func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			a, err := c.agent(ctx)
			if err != nil {
				return err
			}
			r, err := a.Containers.Changes(ctx, &agentv1.ContainerRequest{Id: args[0]})
			if err != nil {
				return containerError(args[0], err)
			}
			for _, ch := range r.Changes {
				fmt.Fprintf(c.out, "%s %s\n", changeKind(ch.Kind), ch.Path)
			}
			return nil
		})
	cmd.Args = requiresExactArgs(1)
	return cmd
}

// changeKind is docker's letter for a change: C modified, A added, D deleted.
func changeKind(k int32) string {
	switch k {
	case 1:
		return "A"
	case 2:
		return "D"
	}
	return "C"
}
