package client

import (
	"fmt"

	"github.com/spf13/cobra"
)

// Positional-argument checks with docker's messages, e.g.
//
//	"berth rmi" requires at least 1 argument.
//	See 'berth rmi --help'.
//
//	Usage:  berth rmi [OPTIONS] IMAGE [IMAGE...]
//
//	Remove one or more images

func requiresMinArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= n {
			return nil
		}
		return argsError(cmd, fmt.Sprintf("requires at least %d %s", n, plural("argument", n)))
	}
}

func requiresExactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == n {
			return nil
		}
		return argsError(cmd, fmt.Sprintf("requires exactly %d %s", n, plural("argument", n)))
	}
}

func requiresMaxArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) <= n {
			return nil
		}
		return argsError(cmd, fmt.Sprintf("accepts at most %d %s", n, plural("argument", n)))
	}
}

func requiresNoArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	return argsError(cmd, "accepts no arguments")
}

func argsError(cmd *cobra.Command, what string) error {
	return fmt.Errorf("%q %s.\nSee '%s --help'.\n\nUsage:  %s\n\n%s",
		cmd.CommandPath(), what, cmd.CommandPath(), cmd.UseLine(), cmd.Short)
}

func plural(word string, n int) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
