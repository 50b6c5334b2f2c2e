package client

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/spf13/cobra"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// newNetworkCommand is `berth network` and its subcommands.
func (c *cli) newNetworkCommand() *cobra.Command {
	return newGroupCommand("network COMMAND", "Manage networks",
		c.newNetworkConnectCommand(),
		c.newNetworkCreateCommand(),
		c.newNetworkDisconnectCommand(),
		c.newNetworkInspectCommand(),
		c.newNetworkLsCommand(),
		c.newNetworkPruneCommand(),
		c.newNetworkRmCommand(),
	)
}

type networkCreateOptions struct {
	driver, subnet, gateway, ipRange string
	internal, attachable             bool
	labels, opts                     *listValue
}

func (c *cli) newNetworkCreateCommand() *cobra.Command {
	o := networkCreateOptions{labels: newListValue("list", validateLabel), opts: newListValue("map", nil)}
	cmd := &cobra.Command{
		Use:                   "create [OPTIONS] NETWORK",
		Short:                 "Create a network",
		Args:                  requiresExactArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			ctx := cmd.Context()
			a, err := c.agent(ctx)
			if err != nil {
				return err
			}
			r, err := a.Networks.Create(ctx, &agentv1.CreateNetworkRequest{
				Name: args[0], Driver: o.driver, Subnet: o.subnet, Gateway: o.gateway, IpRange: o.ipRange,
				Internal: o.internal, Attachable: o.attachable, Labels: kvMap(o.labels.values), Options: kvMap(o.opts.values),
			})
			if err != nil {
				return fromAgent(err)
			}
			if r.Warning != "" {
				fmt.Fprintf(c.errOut, "WARNING: %s\n", r.Warning)
			}
			fmt.Fprintln(c.out, r.Id)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.driver, "driver", "d", "bridge", "Driver to manage the Network")
	f.StringVar(&o.subnet, "subnet", "", "Subnet in CIDR format that represents a network segment")
	f.StringVar(&o.gateway, "gateway", "", "IPv4 or IPv6 Gateway for the master subnet")
	f.StringVar(&o.ipRange, "ip-range", "", "Allocate container ip from a sub-range")
	f.BoolVar(&o.internal, "internal", false, "Restrict external access to the network")
	f.BoolVar(&o.attachable, "attachable", false, "Enable manual container attachment")
	f.VarP(o.labels, "label", "l", "Set metadata on a network")
	f.VarP(o.opts, "opt", "o", "Set driver specific options")
	return cmd
}

// validate checks the addresses as docker's CLI does before asking.
func (o networkCreateOptions) validate() error {
	if o.subnet != "" {
		if _, err := netip.ParsePrefix(o.subnet); err != nil {
			return fmt.Errorf("invalid subnet %s: %w", o.subnet, err)
		}
	} else if o.gateway != "" || o.ipRange != "" {
		return errors.New("every ip-range or gateway must have a corresponding subnet")
	}
	if o.ipRange != "" {
		if _, err := netip.ParsePrefix(o.ipRange); err != nil {
			return fmt.Errorf("invalid ip-range %s: %w", o.ipRange, err)
		}
	}
	if o.gateway != "" {
		if _, err := netip.ParseAddr(o.gateway); err != nil {
			return fmt.Errorf("invalid gateway %s: it must be an IP address", o.gateway)
		}
	}
	return nil
}

func (c *cli) newNetworkInspectCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:                   "inspect [OPTIONS] NETWORK [NETWORK...]",
		Short:                 "Display detailed information on one or more networks",
		Args:                  requiresMinArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			a, err := c.agent(ctx)
			if err != nil {
				return err
			}
			return inspectObjects(c.out, format, args, func(ref string) (any, error) {
				return c.inspectAs(ctx, a, "network", ref, false)
			})
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template")
	return cmd
}

func (c *cli) newNetworkRmCommand() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:                   "rm NETWORK [NETWORK...]",
		Aliases:               []string{"remove"},
		Short:                 "Remove one or more networks",
		Args:                  requiresMinArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			a, err := c.agent(ctx)
			if err != nil {
				return err
			}
			var failed []string
			for _, n := range args {
				if _, err := a.Networks.Remove(ctx, &agentv1.RemoveNetworkRequest{Id: n}); err != nil {
					if force && isNotFound(err) {
						continue
					}
					failed = append(failed, inspectErrorLine(fromAgent(err)))
					continue
				}
				fmt.Fprintln(c.out, n)
			}
			if len(failed) > 0 {
				return withExitCode(1, errors.New(strings.Join(failed, "\n")))
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not error if the network does not exist")
	return cmd
}

func (c *cli) newNetworkConnectCommand() *cobra.Command {
	var aliases []string
	var ip string
	cmd := &cobra.Command{
		Use:                   "connect [OPTIONS] NETWORK CONTAINER",
		Short:                 "Connect a container to a network",
		Args:                  requiresExactArgs(2),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if ip != "" {
				if a, err := netip.ParseAddr(ip); err != nil || !a.Is4() {
					return fmt.Errorf("invalid IPv4 address: %s", ip)
				}
			}
			ctx := cmd.Context()
			a, err := c.agent(ctx)
			if err != nil {
				return err
			}
			_, err = a.Networks.Connect(ctx, &agentv1.ConnectNetworkRequest{Network: args[0], Container: args[1], Aliases: aliases, Ipv4Address: ip})
			return fromAgent(err)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&aliases, "alias", nil, "Add network-scoped alias for the container")
	f.StringVar(&ip, "ip", "", "IPv4 address (e.g., 172.30.100.104)")
	return cmd
}

func (c *cli) newNetworkDisconnectCommand() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:                   "disconnect [OPTIONS] NETWORK CONTAINER",
		Short:                 "Disconnect a container from a network",
		Args:                  requiresExactArgs(2),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			a, err := c.agent(ctx)
			if err != nil {
				return err
			}
			_, err = a.Networks.Disconnect(ctx, &agentv1.DisconnectNetworkRequest{Network: args[0], Container: args[1], Force: force})
			return fromAgent(err)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Force the container to disconnect from a network")
	return cmd
}
