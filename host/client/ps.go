package client

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// Docker's ps formats.
const (
	psTableFormat     = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
	psTableFormatSize = psTableFormat + "\t{{.Size}}"
)

// psHeader is docker's column titles for container rows.
var psHeader = map[string]string{
	"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "RunningFor": "CREATED",
	"CreatedAt": "CREATED AT", "Status": "STATUS", "Ports": "PORTS", "Names": "NAMES",
	"Size": "SIZE", "Labels": "LABELS", "Mounts": "MOUNTS", "Networks": "NETWORKS",
	"LocalVolumes": "LOCAL VOLUMES", "State": "STATE",
}

type psOptions struct {
	all     bool
	quiet   bool
	size    bool
	latest  bool
	last    int
	noTrunc bool
	format  string
	filters []string
}

// psRow is one line of `ps`; its fields are what --format templates name.
type psRow struct {
	Command      string
	CreatedAt    string
	ID           string
	Image        string
	Labels       string
	LocalVolumes string
	Mounts       string
	Names        string
	Networks     string
	Ports        string
	RunningFor   string
	Size         string
	State        string
	Status       string

	labels map[string]string
}

// Label is the value of one label ({{.Label "com.example"}}).
func (r psRow) Label(name string) string { return r.labels[name] }

func (c *cli) newPsCommand() *cobra.Command { return c.newContainerLsCommand("ps") }

func (c *cli) newContainerLsCommand(use string, aliases ...string) *cobra.Command {
	var o psOptions
	cmd := &cobra.Command{
		Use:                   use + " [OPTIONS]",
		Short:                 "List containers",
		Aliases:               aliases,
		Args:                  requiresNoArgs,
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runPs(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.all, "all", "a", false, "Show all containers (default shows just running)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Only display container IDs")
	f.BoolVarP(&o.size, "size", "s", false, "Display total file sizes")
	f.BoolVarP(&o.latest, "latest", "l", false, "Show the latest created container (includes all states)")
	f.IntVarP(&o.last, "last", "n", -1, "Show n last created containers (includes all states)")
	f.BoolVar(&o.noTrunc, "no-trunc", false, "Don't truncate output")
	f.StringVar(&o.format, "format", "", "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template")
	f.StringArrayVarP(&o.filters, "filter", "f", nil, "Filter output based on conditions provided")
	return cmd
}

func (c *cli) runPs(ctx context.Context, o psOptions) error {
	for _, f := range o.filters {
		if !strings.Contains(f, "=") {
			return withExitCode(125, errBadFilter(f))
		}
	}
	a, err := c.agent(ctx)
	if err != nil {
		return err
	}
	req := &agentv1.ListContainersRequest{All: o.all, Size: o.size, Filters: o.filters}
	if o.latest {
		req.Limit = 1
	} else if o.last > 0 {
		req.Limit = int32(o.last)
	}
	resp, err := a.Containers.List(ctx, req)
	if err != nil {
		return fromAgent(err)
	}
	c.withForwardedSummaries(ctx, a, resp.Containers)
	lf := psListFormat(o)
	rows := make([]any, 0, len(resp.Containers))
	now := time.Now()
	for _, ct := range resp.Containers {
		rows = append(rows, newPsRow(ct, !o.noTrunc, now))
	}
	return lf.Write(c.out, rows)
}

func psListFormat(o psOptions) listFormat {
	f := o.format
	switch {
	case o.quiet && (f == "" || strings.HasPrefix(f, formatTable)):
		f = quietIDFormat
	case f == "" || f == formatTable:
		f = psTableFormat
		if o.size {
			f = psTableFormatSize
		}
	}
	return listFormat{Format: f, Header: psHeader}
}

// newPsRow formats one container as docker's ps does.
func newPsRow(ct *agentv1.ContainerSummary, trunc bool, now time.Time) psRow {
	created := ct.GetCreated().AsTime()
	r := psRow{
		ID:         ct.Id,
		Image:      ct.Image,
		Command:    ct.Command,
		CreatedAt:  created.Local().Format("2006-01-02 15:04:05 -0700 MST"),
		RunningFor: units.HumanDuration(now.UTC().Sub(created)) + " ago",
		Ports:      displayPorts(ct.Ports),
		State:      ct.State,
		Status:     ct.Status,
		Networks:   strings.Join(ct.Networks, ","),
		labels:     ct.Labels,
	}
	if trunc {
		r.ID = truncID(ct.Id)
		r.Command = ellipsis(ct.Command, 20)
		if strings.HasPrefix(r.Image, "sha256:") {
			r.Image = shortID(r.Image)
		}
	}
	r.Command = strconv.Quote(r.Command)
	var names []string
	for _, n := range ct.Names {
		n = strings.TrimPrefix(n, "/")
		if trunc && strings.Contains(n, "/") {
			continue // a link name
		}
		names = append(names, n)
	}
	r.Names = strings.Join(names, ",")
	var mounts []string
	for _, m := range ct.Mounts {
		if trunc {
			m = ellipsis(m, 15)
		}
		mounts = append(mounts, m)
	}
	r.Mounts = strings.Join(mounts, ",")
	r.LocalVolumes = strconv.Itoa(len(ct.Mounts))
	r.Size = units.HumanSizeWithPrecision(float64(ct.SizeRw), 3)
	if ct.SizeRootFs > 0 {
		r.Size += fmt.Sprintf(" (virtual %s)", units.HumanSizeWithPrecision(float64(ct.SizeRootFs), 3))
	}
	keys := make([]string, 0, len(ct.Labels))
	for k := range ct.Labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		keys[i] = k + "=" + ct.Labels[k]
	}
	r.Labels = strings.Join(keys, ",")
	return r
}
