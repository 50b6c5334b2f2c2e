package client

import (
	"context"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// cli carries what every command needs: the global flags and the streams.
type cli struct {
	machine string // --machine / BERTH_MACHINE
	home    string // BERTH_HOME or the per-user app data dir

	in     io.Reader
	out    io.Writer
	errOut io.Writer

	conn *agentConn // opened on first use by agent()
}

// NewRootCommand builds the berth command tree.
func NewRootCommand() *cobra.Command {
	c := &cli{in: os.Stdin, out: os.Stdout, errOut: os.Stderr}
	root := &cobra.Command{
		Use:           "berth",
		Short:         "Run Linux containers in a lightweight VM, the docker way",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return c.resolveGlobals()
		},
		PersistentPostRun: func(cmd *cobra.Command, args []string) {
			c.closeAgent()
		},
	}
	root.CompletionOptions.HiddenDefaultCmd = false // `berth completion bash|zsh|fish|powershell`
	root.PersistentFlags().StringVar(&c.machine, "machine", "", `machine to use (default "$BERTH_MACHINE" or "default")`)
	root.SetFlagErrorFunc(flagError)
	c.addCommands(root)
	return root
}

// Execute runs the CLI with os.Args and returns the process exit code.
func Execute(ctx context.Context) int {
	root := NewRootCommand()
	root.SetContext(ctx)
	cmd, err := root.ExecuteC()
	if err != nil {
		return printError(os.Stderr, cmd, err)
	}
	return 0
}
