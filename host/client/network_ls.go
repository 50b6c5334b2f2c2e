package client

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/spf13/cobra"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

const networkTableFormat = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"

var networkHeader = map[string]string{
	"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE", "IPv4": "IPV4",
	"IPv6": "IPV6", "Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED",
}

// networkRow is one line of `network ls`.
type networkRow struct {
	CreatedAt string
	Driver    string
	ID        string
	IPv4      string
	IPv6      string
	Internal  string
	Labels    string
	Name      string
	Scope     string

	labels map[string]string
}

// Label is the value of one label ({{.Label "k"}}).
func (r networkRow) Label(name string) string { return r.labels[name] }

func (c *cli) newNetworkLsCommand() *cobra.Command {
	var quiet, noTrunc bool
	var format string
	var filters []string
	cmd := &cobra.Command{
		Use:                   "ls [OPTIONS]",
		Aliases:               []string{"list"},
		Short:                 "List networks",
		Args:                  requiresNoArgs,
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runNetworkLs(cmd.Context(), quiet, noTrunc, format, filters)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&quiet, "quiet", "q", false, "Only display network IDs")
	f.BoolVar(&noTrunc, "no-trunc", false, "Do not truncate the output")
	f.StringVar(&format, "format", "", "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template")
	f.StringArrayVarP(&filters, "filter", "f", nil, "Provide filter values (e.g. \"driver=bridge\")")
	return cmd
}

func (c *cli) runNetworkLs(ctx context.Context, quiet, noTrunc bool, format string, filters []string) error {
	if err := checkFilters(filters); err != nil {
		return err
	}
	a, err := c.agent(ctx)
	if err != nil {
		return err
	}
	r, err := a.Networks.List(ctx, &agentv1.ListNetworksRequest{Filters: filters})
	if err != nil {
		return fromAgent(err)
	}
	nets := slices.Clone(r.Networks)
	slices.SortFunc(nets, func(a, b *agentv1.NetworkSummary) int { return strings.Compare(a.Name, b.Name) })
	rows := make([]any, 0, len(nets))
	for _, n := range nets {
		id := n.Id
		if !noTrunc {
			id = truncID(id)
		}
		rows = append(rows, networkRow{
			ID: id, Name: n.Name, Driver: n.Driver, Scope: n.Scope, Internal: strconv.FormatBool(n.Internal),
			IPv4: "true", IPv6: "false", Labels: joinLabels(n.Labels), labels: n.Labels,
		})
	}
	switch {
	case quiet && (format == "" || strings.HasPrefix(format, formatTable)):
		format = "{{.ID}}"
	case format == "" || format == formatTable:
		format = networkTableFormat
	}
	return listFormat{Format: format, Header: networkHeader}.Write(c.out, rows)
}

func isNotFound(err error) bool { return errdefs.IsNotFound(fromAgent(err)) }
