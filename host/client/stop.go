package client

import (
	"context"

	"github.com/spf13/cobra"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

type stopOptions struct {
	timeout int
	signal  string
}

func (c *cli) newStopCommand() *cobra.Command {
	var o stopOptions
	cmd := containerCommand("stop [OPTIONS] CONTAINER [CONTAINER...]", "Stop one or more running containers", nil, 1,
		func(cmd *cobra.Command, args []string) error {
			return c.runStop(cmd.Context(), o, cmd.Flags().Changed("timeout"), args, false)
		})
	addStopFlags(cmd, &o, true)
	return cmd
}

func addStopFlags(cmd *cobra.Command, o *stopOptions, withSignal bool) {
	f := cmd.Flags()
	if withSignal {
		f.StringVarP(&o.signal, "signal", "s", "", "Signal to send to the container")
	}
	f.IntVarP(&o.timeout, "timeout", "t", 0, "Seconds to wait before killing the container")
	f.IntVar(&o.timeout, "time", 0, "Seconds to wait before killing the container")
	_ = f.MarkHidden("time")
}

// runStop stops (or restarts) each container, printing its name.
func (c *cli) runStop(ctx context.Context, o stopOptions, timeoutSet bool, args []string, restart bool) error {
	a, err := c.agent(ctx)
	if err != nil {
		return err
	}
	return c.forEachContainer(args, func(id string) error {
		req := &agentv1.StopContainerRequest{Id: id, Signal: o.signal}
		if timeoutSet {
			t := int32(o.timeout)
			req.Timeout = &t
		}
		var err error
		if restart {
			_, err = a.Containers.Restart(ctx, req)
		} else {
			_, err = a.Containers.Stop(ctx, req)
		}
		if err == nil {
			c.syncForwards(ctx, a, id)
		}
		return err
	})
}
