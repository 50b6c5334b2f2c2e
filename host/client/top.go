package client

import (
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

func (c *cli) newTopCommand() *cobra.Command {
	cmd := containerCommand("top CONTAINER [ps OPTIONS]", "Display the running processes of a container", nil, 1,
		func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			a, err := c.agent(ctx)
			if err != nil {
				return err
			}
			r, err := a.Containers.Top(ctx, &agentv1.TopRequest{Id: args[0], PsArgs: strings.Join(args[1:], " ")})
			if err != nil {
				return containerError(args[0], err)
			}
			w := tabwriter.NewWriter(c.out, 20, 1, 3, ' ', 0)
			_, _ = w.Write([]byte(strings.Join(r.Titles, "\t") + "\n"))
			for _, p := range r.Processes {
				_, _ = w.Write([]byte(strings.Join(p.Fields, "\t") + "\n"))
			}
			return w.Flush()
		})
	cmd.Flags().SetInterspersed(false)
	return cmd
}
