package client

import (
	"errors"
	"fmt"
	"strings"

	"github.com/containerd/errdefs"
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

// containerError gives an agent error about container ref docker's
// wording: "No such container: ref" for a not-found error.
func containerError(ref string, err error) error {
	err = fromAgent(err)
	if !errdefs.IsNotFound(err) {
		return err
	}
	var de *daemonError
	if !errors.As(err, &de) {
		return err
	}
	msg := cleanDaemonMessage(de.err.Error())
	if strings.Contains(msg, "container") || strings.Contains(msg, ref) {
		return &daemonError{err: &kindError{msg: "No such container: " + ref, kind: errdefs.ErrNotFound}}
	}
	return err
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
