package client

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

func (c *cli) newWaitCommand() *cobra.Command {
	return containerCommand("wait CONTAINER [CONTAINER...]", "Block until one or more containers stop, then print their exit codes", nil, 1,
		func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			a, err := c.agent(ctx)
			if err != nil {
				return err
			}
			var failed []string
			for _, id := range args {
				r, err := a.Containers.Wait(ctx, &agentv1.WaitContainerRequest{Id: id, Condition: "not-running"})
				if err == nil && r.Error != "" {
					err = errors.New(r.Error)
				}
				if err != nil {
					failed = append(failed, inspectErrorLine(containerError(id, err)))
					continue
				}
				fmt.Fprintln(c.out, r.StatusCode)
			}
			if len(failed) > 0 {
				return withExitCode(1, errors.New(strings.Join(failed, "\n")))
			}
			return nil
		})
}
