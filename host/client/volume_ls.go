package client

import (
	"context"
	"slices"
	"strings"
	"time"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

const volumeTableFormat = "table {{.Driver}}\t{{.Name}}"

var volumeHeader = map[string]string{
	"Driver": "DRIVER", "Name": "VOLUME NAME", "Scope": "SCOPE", "Mountpoint": "MOUNTPOINT",
	"Labels": "LABELS", "Links": "LINKS", "Size": "SIZE", "CreatedAt": "CREATED AT",
}

// volumeRow is one line of `volume ls`.
type volumeRow struct {
	Availability string
	CreatedAt    string
	Driver       string
	Group        string
	Labels       string
	Links        string
	Mountpoint   string
	Name         string
	Scope        string
	Size         string
	Status       string

	labels map[string]string
}

// Label is the value of one label ({{.Label "k"}}).
func (r volumeRow) Label(name string) string { return r.labels[name] }

func (c *cli) newVolumeLsCommand() *cobra.Command {
	var quiet bool
	var format string
	var filters []string
	cmd := &cobra.Command{
		Use:                   "ls [OPTIONS]",
		Aliases:               []string{"list"},
		Short:                 "List volumes",
		Args:                  requiresNoArgs,
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runVolumeLs(cmd.Context(), quiet, format, filters)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&quiet, "quiet", "q", false, "Only display volume names")
	f.StringVar(&format, "format", "", "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template")
	f.StringArrayVarP(&filters, "filter", "f", nil, "Provide filter values (e.g. \"dangling=true\")")
	return cmd
}

func (c *cli) runVolumeLs(ctx context.Context, quiet bool, format string, filters []string) error {
	if err := checkFilters(filters); err != nil {
		return err
	}
	a, err := c.agent(ctx)
	if err != nil {
		return err
	}
	r, err := a.Volumes.List(ctx, &agentv1.ListVolumesRequest{Filters: filters})
	if err != nil {
		return fromAgent(err)
	}
	vols := slices.Clone(r.Volumes)
	slices.SortFunc(vols, func(a, b *agentv1.Volume) int { return strings.Compare(a.Name, b.Name) })
	rows := make([]any, 0, len(vols))
	for _, v := range vols {
		rows = append(rows, newVolumeRow(v))
	}
	switch {
	case quiet && (format == "" || strings.HasPrefix(format, formatTable)):
		format = "{{.Name}}"
	case format == "" || format == formatTable:
		format = volumeTableFormat
	}
	return listFormat{Format: format, Header: volumeHeader}.Write(c.out, rows)
}

func newVolumeRow(v *agentv1.Volume) volumeRow {
	r := volumeRow{
		Driver: v.Driver, Name: v.Name, Mountpoint: v.Mountpoint, Scope: v.Scope, Links: "N/A", Size: "N/A",
		Availability: "N/A", Status: "N/A", labels: v.Labels,
	}
	if v.RefCount >= 0 && v.Size >= 0 {
		r.Links = units.HumanSize(float64(v.RefCount))
	}
	if v.Size >= 0 {
		r.Size = units.HumanSize(float64(v.Size))
	}
	if v.CreatedAt != nil {
		r.CreatedAt = v.CreatedAt.AsTime().UTC().Format(time.RFC3339)
	}
	r.Labels = joinLabels(v.Labels)
	return r
}

// joinLabels is docker's "k=v,k2=v2" form, sorted by key.
func joinLabels(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		keys[i] = k + "=" + m[k]
	}
	return strings.Join(keys, ",")
}
