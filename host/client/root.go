package client

import (
	"context"
	"io"
	"os"
	"strings"

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
	return newRootCommand(nil)
}

// newRootCommand builds the root command with the commands args can run:
// only the one named by the first argument that is not a global flag
// when there is such a command, else all of them (help, completion, an
// unknown command and its suggestions need the whole tree). nil args
// builds all.
func newRootCommand(args []string) *cobra.Command {
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
	root.AddCommand(buildCommands(c.commandSet(), args)...)
	return root
}

// buildCommands builds the command args run, or all when args is nil or
// names none of them.
func buildCommands(set []lazyCommand, args []string) []*cobra.Command {
	if name := commandName(args); name != "" {
		for _, lc := range set {
			if lc.name == name {
				return []*cobra.Command{lc.build()}
			}
		}
	}
	out := make([]*cobra.Command, 0, len(set))
	for _, lc := range set {
		out = append(out, lc.build())
	}
	return out
}

// commandName is the first argument that is not a global flag (--machine
// and its value), or "" when a help flag or "--" comes first.
func commandName(args []string) string {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--machine":
			i++
		case strings.HasPrefix(a, "--machine="):
		case strings.HasPrefix(a, "-"):
			return ""
		default:
			return a
		}
	}
	return ""
}

// Execute runs the CLI with os.Args and returns the process exit code.
func Execute(ctx context.Context) int {
	root := newRootCommand(os.Args[1:])
	root.SetContext(ctx)
	cmd, err := root.ExecuteC()
	if err != nil {
		return printError(os.Stderr, cmd, err)
	}
	return 0
}
