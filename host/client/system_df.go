package client

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

const dfTableFormat = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"

var dfHeader = map[string]string{
	"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE", "Reclaimable": "RECLAIMABLE",
}

// dfRow is one line of `system df`.
type dfRow struct {
	Active      string
	Reclaimable string
	Size        string
	TotalCount  string
	Type        string
}

// diskUsage is what `system df` reports on, gathered from the List calls.
type diskUsage struct {
	images     []*agentv1.Image
	containers []*agentv1.ContainerSummary
	volumes    []*agentv1.Volume
}

func (c *cli) newSystemDfCommand() *cobra.Command {
	var verbose bool
	var format string
	cmd := &cobra.Command{
		Use:                   "df [OPTIONS]",
		Short:                 "Show docker disk usage",
		Args:                  requiresNoArgs,
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			du, err := c.diskUsage(cmd.Context())
			if err != nil {
				return err
			}
			if verbose {
				return du.writeVerbose(c.out)
			}
			if format == "" || format == formatTable {
				format = dfTableFormat
			}
			return listFormat{Format: format, Header: dfHeader}.Write(c.out, du.rows())
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&verbose, "verbose", "v", false, "Show detailed information on space usage")
	f.StringVar(&format, "format", "", "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template")
	return cmd
}

func (c *cli) diskUsage(ctx context.Context) (*diskUsage, error) {
	a, err := c.agent(ctx)
	if err != nil {
		return nil, err
	}
	var du diskUsage
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		r, err := a.Images.List(gctx, &agentv1.ListImagesRequest{})
		du.images = r.GetImages()
		return err
	})
	g.Go(func() error {
		r, err := a.Containers.List(gctx, &agentv1.ListContainersRequest{All: true, Size: true})
		du.containers = r.GetContainers()
		return err
	})
	g.Go(func() error {
		r, err := a.Volumes.List(gctx, &agentv1.ListVolumesRequest{})
		du.volumes = r.GetVolumes()
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, fromAgent(err)
	}
	return &du, nil
}

// reclaimable is docker's "size (percent%)" cell.
func reclaimable(n, total int64) string {
	if total > 0 {
		return fmt.Sprintf("%s (%d%%)", units.HumanSize(float64(n)), n*100/total)
	}
	return units.HumanSize(float64(n))
}

func containerActive(state string) bool {
	return state == "running" || state == "paused" || state == "restarting"
}

func (du *diskUsage) rows() []any {
	var imgSize, imgFree, imgActive int64
	for _, i := range du.images {
		imgSize += i.Size
		if i.Containers > 0 {
			imgActive++
		} else {
			imgFree += i.Size
		}
	}
	var ctrSize, ctrFree, ctrActive int64
	for _, ct := range du.containers {
		ctrSize += ct.SizeRw
		if containerActive(ct.State) {
			ctrActive++
		} else {
			ctrFree += ct.SizeRw
		}
	}
	var volSize, volFree, volActive int64
	for _, v := range du.volumes {
		size := max(v.Size, 0)
		volSize += size
		if v.RefCount > 0 {
			volActive++
		} else {
			volFree += size
		}
	}
	row := func(typ string, total, active, size, free int64) any {
		return dfRow{
			Type: typ, TotalCount: strconv.FormatInt(total, 10), Active: strconv.FormatInt(active, 10),
			Size: units.HumanSize(float64(size)), Reclaimable: reclaimable(free, size),
		}
	}
	return []any{
		row("Images", int64(len(du.images)), imgActive, imgSize, imgFree),
		row("Containers", int64(len(du.containers)), ctrActive, ctrSize, ctrFree),
		row("Local Volumes", int64(len(du.volumes)), volActive, volSize, volFree),
		row("Build Cache", 0, 0, 0, 0),
	}
}

// writeVerbose is `system df -v`: one table per kind of object.
func (du *diskUsage) writeVerbose(w io.Writer) error {
	now := time.Now()
	fmt.Fprint(w, "Images space usage:\n\n")
	var images []any
	for _, img := range du.images {
		for _, ref := range imageRefs(img, false) {
			r := newImageRow(img, ref, true, now)
			r.Containers = strconv.FormatInt(img.Containers, 10)
			r.SharedSize, r.UniqueSize = "0B", r.Size
			images = append(images, r)
		}
	}
	imgFmt := listFormat{Format: "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}", Header: imageHeader}
	if err := imgFmt.Write(w, images); err != nil {
		return err
	}
	fmt.Fprint(w, "\nContainers space usage:\n\n")
	var ctrs []any
	for _, ct := range du.containers {
		r := newPsRow(ct, true, now)
		r.Size = units.HumanSizeWithPrecision(float64(ct.SizeRw), 3)
		ctrs = append(ctrs, r)
	}
	ctrFmt := listFormat{Format: "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}", Header: psHeader}
	if err := ctrFmt.Write(w, ctrs); err != nil {
		return err
	}
	fmt.Fprint(w, "\nLocal Volumes space usage:\n\n")
	var vols []any
	for _, v := range du.volumes {
		vols = append(vols, newVolumeRow(v))
	}
	if err := (listFormat{Format: "table {{.Name}}\t{{.Links}}\t{{.Size}}", Header: volumeHeader}).Write(w, vols); err != nil {
		return err
	}
	fmt.Fprint(w, "\nBuild cache usage: 0B\n\n")
	return nil
}
