package client

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// killExitWait bounds how long kill waits for a SIGKILLed container to be
// gone before it syncs its port forwards (docker's daemon waits too, so
// that the ports are free when `docker kill` returns).
const killExitWait = 10 * time.Second

func (c *cli) newKillCommand() *cobra.Command {
	var signal string
	cmd := containerCommand("kill [OPTIONS] CONTAINER [CONTAINER...]", "Kill one or more running containers", nil, 1,
		func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			a, err := c.agent(ctx)
			if err != nil {
				return err
			}
			return c.forEachContainer(args, func(id string) error {
				if _, err := a.Containers.Kill(ctx, &agentv1.KillContainerRequest{Id: id, Signal: signal}); err != nil {
					return err
				}
				if isSIGKILL(signal) {
					c.waitGone(ctx, a, id)
				}
				c.syncForwards(ctx, a, id)
				return nil
			})
		})
	cmd.Flags().StringVarP(&signal, "signal", "s", "", "Signal to send to the container")
	return cmd
}

// isSIGKILL reports whether kill's --signal value is SIGKILL (the default).
func isSIGKILL(s string) bool {
	s = strings.TrimPrefix(strings.ToUpper(s), "SIG")
	return s == "" || s == "KILL" || s == "9"
}

// waitGone waits, up to killExitWait, for a killed container to stop
// running. A failure only means its forwards go a moment later, with the
// agent's die event.
func (c *cli) waitGone(ctx context.Context, a *agentConn, id string) {
	wctx, cancel := context.WithTimeout(ctx, killExitWait)
	defer cancel()
	_, _ = a.Containers.Wait(wctx, &agentv1.WaitContainerRequest{Id: id, Condition: "not-running"})
}
