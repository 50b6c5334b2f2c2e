package client

import (
	"context"
	"strconv"
	"strings"
	"time"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// Docker's history formats.
const historyTableFormat = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"

// historyHeader is docker's column titles for history rows.
var historyHeader = map[string]string{
	"ID":           "IMAGE",
	"CreatedSince": "CREATED",
	"CreatedAt":    "CREATED AT",
	"CreatedBy":    "CREATED BY",
	"Size":         "SIZE",
	"Comment":      "COMMENT",
}

// historyOptions are the flags of `berth history`.
type historyOptions struct {
	human, quiet, noTrunc bool
	format                string
}

// historyRow is one line of `berth history`; its fields are what --format
// templates name.
type historyRow struct {
	Comment      string
	CreatedAt    string
	CreatedBy    string
	CreatedSince string
	ID           string
	Size         string
}

func (c *cli) newHistoryCommand(use string) *cobra.Command {
	var o historyOptions
	cmd := &cobra.Command{
		Use:                   use + " [OPTIONS] IMAGE",
		Short:                 "Show the history of an image",
		Args:                  requiresExactArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runHistory(cmd.Context(), args[0], o)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.human, "human", "H", true, "Print sizes and dates in human readable format")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Only show image IDs")
	f.BoolVar(&o.noTrunc, "no-trunc", false, "Don't truncate output")
	f.StringVar(&o.format, "format", "", "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template")
	return cmd
}

func (c *cli) runHistory(ctx context.Context, ref string, o historyOptions) error {
	format := historyFormat(o)
	if _, err := parseTemplate(format.template()); err != nil {
		return err
	}
	a, err := c.agent(ctx)
	if err != nil {
		return err
	}
	resp, err := a.Images.History(ctx, &agentv1.InspectImageRequest{Ref: ref})
	if err != nil {
		return fromAgent(err)
	}
	now := time.Now()
	var rows []any
	for _, it := range resp.Items {
		rows = append(rows, newHistoryRow(it, o, now))
	}
	return format.Write(c.out, rows)
}

func historyFormat(o historyOptions) listFormat {
	f := o.format
	switch {
	case o.quiet:
		f = quietIDFormat
	case f == "" || f == formatTable:
		f = historyTableFormat
	}
	return listFormat{Format: f, Header: historyHeader}
}

// newHistoryRow renders one entry as docker's history formatter does.
func newHistoryRow(it *agentv1.HistoryItem, o historyOptions, now time.Time) historyRow {
	id := it.Id
	if !o.noTrunc && id != "<missing>" {
		id = shortID(id)
	}
	createdBy := strings.ReplaceAll(it.CreatedBy, "\t", " ")
	if !o.noTrunc {
		createdBy = ellipsis(createdBy, 45)
	}
	r := historyRow{ID: id, CreatedBy: createdBy, Comment: it.Comment, CreatedSince: "N/A", CreatedAt: "N/A"}
	if it.Created != nil {
		created := it.Created.AsTime()
		r.CreatedAt = created.Local().Format(time.RFC3339)
		r.CreatedSince = r.CreatedAt
		if o.human {
			r.CreatedSince = units.HumanDuration(now.UTC().Sub(created)) + " ago"
		}
	}
	r.Size = strconv.FormatInt(it.Size, 10)
	if o.human {
		r.Size = units.HumanSizeWithPrecision(float64(it.Size), 3)
	}
	return r
}
