package client

import (
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/network"
	"github.com/spf13/cobra"
)

func (c *cli) newPortCommand() *cobra.Command {
	cmd := containerCommand("port CONTAINER [PRIVATE_PORT[/PROTO]]", "List port mappings or a specific mapping for the container", nil, 1,
		func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			a, err := c.agent(ctx)
			if err != nil {
				return err
			}
			info, err := c.inspectContainer(ctx, a, args[0])
			if err != nil {
				return err
			}
			ports := c.forwardedPorts(ctx, a, info)
			private := ""
			if len(args) == 2 {
				private = args[1]
			}
			lines, err := portLines(ports, private)
			if err != nil {
				return fmt.Errorf("%w for %s", err, args[0])
			}
			for _, l := range lines {
				fmt.Fprintln(c.out, l)
			}
			return nil
		})
	cmd.Args = requiresRangeArgs(1, 2)
	return cmd
}

// portLines is docker's port output: "80/tcp -> 127.0.0.1:8080" for every
// binding, or only the host addresses of the one port asked for.
func portLines(ports network.PortMap, private string) ([]string, error) {
	if private != "" {
		if !strings.Contains(private, "/") {
			private += "/tcp"
		}
		p, err := network.ParsePort(private)
		if err != nil {
			return nil, fmt.Errorf("invalid port (%s): %w", private, err)
		}
		bs, ok := ports[p]
		if !ok || len(bs) == 0 {
			return nil, fmt.Errorf("No public port '%s' published", p)
		}
		var out []string
		for _, b := range bs {
			out = append(out, hostAddr(b))
		}
		return out, nil
	}
	keys := make([]network.Port, 0, len(ports))
	for p := range ports {
		keys = append(keys, p)
	}
	slices.SortFunc(keys, func(a, b network.Port) int {
		if a.Num() != b.Num() {
			return int(a.Num()) - int(b.Num())
		}
		return strings.Compare(string(a.Proto()), string(b.Proto()))
	})
	var out []string
	for _, p := range keys {
		for _, b := range ports[p] {
			out = append(out, fmt.Sprintf("%s -> %s", p, hostAddr(b)))
		}
	}
	return out, nil
}

func hostAddr(b network.PortBinding) string {
	ip := ""
	if b.HostIP.IsValid() {
		ip = b.HostIP.String()
	}
	return net.JoinHostPort(ip, b.HostPort)
}

func requiresRangeArgs(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= lo && len(args) <= hi {
			return nil
		}
		return argsError(cmd, fmt.Sprintf("requires at least %d and at most %d arguments", lo, hi))
	}
}
