package client

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// newVolumeCommand is `berth volume` and its subcommands.
func (c *cli) newVolumeCommand() *cobra.Command {
	return newGroupCommand("volume COMMAND", "Manage volumes",
		c.newVolumeCreateCommand(),
		c.newVolumeInspectCommand(),
		c.newVolumeLsCommand(),
		c.newVolumePruneCommand(),
		c.newVolumeRmCommand(),
	)
}

func (c *cli) newVolumeCreateCommand() *cobra.Command {
	var name, driver string
	opts := newListValue("map", nil)
	labels := newListValue("list", validateLabel)
	cmd := &cobra.Command{
		Use:                   "create [OPTIONS] [VOLUME]",
		Short:                 "Create a volume",
		Args:                  requiresMaxArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if name != "" {
					return withExitCode(1, errors.New("conflicting options: cannot specify a volume-name through both --name and as a positional arg"))
				}
				name = args[0]
			}
			ctx := cmd.Context()
			a, err := c.agent(ctx)
			if err != nil {
				return err
			}
			v, err := a.Volumes.Create(ctx, &agentv1.CreateVolumeRequest{
				Name: name, Driver: driver, DriverOpts: kvMap(opts.values), Labels: kvMap(labels.values),
			})
			if err != nil {
				return fromAgent(err)
			}
			fmt.Fprintln(c.out, v.Name)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "Specify volume name")
	_ = f.MarkHidden("name")
	f.StringVarP(&driver, "driver", "d", "local", "Specify volume driver name")
	f.VarP(opts, "opt", "o", "Set driver specific options")
	f.VarP(labels, "label", "l", "Set metadata for a volume")
	return cmd
}

func (c *cli) newVolumeInspectCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:                   "inspect [OPTIONS] VOLUME [VOLUME...]",
		Short:                 "Display detailed information on one or more volumes",
		Args:                  requiresMinArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			a, err := c.agent(ctx)
			if err != nil {
				return err
			}
			return inspectObjects(c.out, format, args, func(name string) (any, error) {
				return c.inspectAs(ctx, a, "volume", name, false)
			})
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template")
	return cmd
}

func (c *cli) newVolumeRmCommand() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:                   "rm [OPTIONS] VOLUME [VOLUME...]",
		Aliases:               []string{"remove"},
		Short:                 "Remove one or more volumes",
		Args:                  requiresMinArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			a, err := c.agent(ctx)
			if err != nil {
				return err
			}
			var failed []string
			for _, name := range args {
				if _, err := a.Volumes.Remove(ctx, &agentv1.RemoveVolumeRequest{Name: name, Force: force}); err != nil {
					failed = append(failed, inspectErrorLine(fromAgent(err)))
					continue
				}
				fmt.Fprintln(c.out, name)
			}
			if len(failed) > 0 {
				return withExitCode(1, errors.New(strings.Join(failed, "\n")))
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Force the removal of one or more volumes")
	return cmd
}
