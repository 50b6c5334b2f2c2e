package client

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// forEachContainer runs fn for every container named in args the way
// docker's multi-container verbs do: the name is printed for each success,
// failures are printed after the rest and make the command exit 1.
func (c *cli) forEachContainer(args []string, fn func(id string) error) error {
	var failed []string
	for _, id := range args {
		if err := fn(id); err != nil {
			failed = append(failed, inspectErrorLine(containerError(id, err)))
			continue
		}
		fmt.Fprintln(c.out, id)
	}
	if len(failed) > 0 {
		return withExitCode(1, errors.New(strings.Join(failed, "\n")))
	}
	return nil
}

// containerError is the error to show for an agent call about container
// ref. The agent already words its errors as docker's daemon does ("No
// such container: x", "container x is not running"), so this only marks
// them as the daemon's.
func containerError(ref string, err error) error {
	_ = ref
	return fromAgent(err)
}

// containerCommand is a command of docker's simple multi-container form.
func containerCommand(use, short string, aliases []string, minArgs int, run func(cmd *cobra.Command, args []string) error) *cobra.Command {
	return &cobra.Command{
		Use:                   use,
		Short:                 short,
		Aliases:               aliases,
		Args:                  requiresMinArgs(minArgs),
		DisableFlagsInUseLine: true,
		RunE:                  run,
	}
}
