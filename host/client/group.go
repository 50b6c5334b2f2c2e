package client

import (
	"fmt"

	"github.com/spf13/cobra"
)

// newGroupCommand is a management command such as `berth container` or
// `berth volume`: without a subcommand it prints its help on stderr, and an
// unknown subcommand is docker's "'x y' is not a x command" error.
func newGroupCommand(use, short string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use:                   use,
		Short:                 short,
		DisableFlagsInUseLine: true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			return fmt.Errorf("%s: '%s %s' is not a %s command.\nSee '%s --help'",
				cmd.Root().Name(), cmd.Name(), args[0], cmd.Root().Name(), cmd.CommandPath())
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(cmd.ErrOrStderr())
			return cmd.Help()
		},
	}
	cmd.AddCommand(subs...)
	return cmd
}
