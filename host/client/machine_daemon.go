package client

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// newMachineDaemonCommand is the hidden command `berth machine start` runs in
// the background: the machine daemon, in the foreground until SIGTERM.
func (c *cli) newMachineDaemonCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "daemon NAME",
		Short:  "Run the machine daemon in the foreground (started by berth machine start)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)
			return c.machines().RunDaemon(ctx, args[0], c.errOut)
		},
	}
}
