package client

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// Docker's image list formats.
const (
	imageTableFormat       = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
	imageTableFormatDigest = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
	quietIDFormat          = "{{.ID}}"
	noneValue              = "<none>"
)

// imageHeader is docker's column titles for image rows.
var imageHeader = map[string]string{
	"ID":           "IMAGE ID",
	"Repository":   "REPOSITORY",
	"Tag":          "TAG",
	"Digest":       "DIGEST",
	"CreatedSince": "CREATED",
	"CreatedAt":    "CREATED AT",
	"Size":         "SIZE",
	"Containers":   "CONTAINERS",
	"VirtualSize":  "VIRTUAL SIZE",
	"SharedSize":   "SHARED SIZE",
	"UniqueSize":   "UNIQUE SIZE",
}

// imagesOptions are the flags of `berth images` / `berth image ls`.
type imagesOptions struct {
	all      bool
	quiet    bool
	digests  bool
	noTrunc  bool
	format   string
	filters  []string
	matchRef string // the optional REPOSITORY[:TAG] argument
}

// imageRow is one line of `berth images`: its fields are what --format
// templates name, and in docker's order (alphabetical) for --format json.
type imageRow struct {
	Containers   string
	CreatedAt    string
	CreatedSince string
	Digest       string
	ID           string
	Repository   string
	SharedSize   string
	Size         string
	Tag          string
	UniqueSize   string
	VirtualSize  string
}

// MarshalJSON writes the row as docker does for --format json, with HTML
// characters escaped ("\u003cnone\u003e").
func (r imageRow) MarshalJSON() ([]byte, error) {
	type plain imageRow
	return json.Marshal(plain(r))
}

func (c *cli) newImageLsCommand(use string, aliases ...string) *cobra.Command {
	var o imagesOptions
	cmd := &cobra.Command{
		Use:                   use + " [OPTIONS] [REPOSITORY[:TAG]]",
		Aliases:               aliases,
		Short:                 "List images",
		Args:                  requiresMaxArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.matchRef = args[0]
			}
			return c.runImages(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.all, "all", "a", false, "Show all images (default hides intermediate images)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Only show image IDs")
	f.BoolVar(&o.digests, "digests", false, "Show digests")
	f.BoolVar(&o.noTrunc, "no-trunc", false, "Don't truncate output")
	f.StringVar(&o.format, "format", "", "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template")
	f.StringArrayVarP(&o.filters, "filter", "f", nil, "Filter output based on conditions provided")
	return cmd
}

// runImages lists the images the way `docker images` does.
func (c *cli) runImages(ctx context.Context, o imagesOptions) error {
	filters := slices.Clone(o.filters)
	for _, f := range filters {
		if !strings.Contains(f, "=") {
			return withExitCode(125, errBadFilter(f))
		}
	}
	if o.matchRef != "" {
		filters = append(filters, "reference="+o.matchRef)
	}
	format := imageListFormat(o)
	if _, err := parseTemplate(format.template()); err != nil {
		return err
	}
	a, err := c.agent(ctx)
	if err != nil {
		return err
	}
	resp, err := a.Images.List(ctx, &agentv1.ListImagesRequest{All: o.all, Filters: filters})
	if err != nil {
		return fromAgent(err)
	}
	return format.Write(c.out, imageRows(resp.Images, o, referencePatterns(filters), time.Now()))
}

// referencePatterns are the values of the reference filters.
func referencePatterns(filters []string) []string {
	var out []string
	for _, f := range filters {
		if v, ok := strings.CutPrefix(f, "reference="); ok {
			out = append(out, v)
		}
	}
	return out
}

// matchesReference is docker's reference.FamiliarMatch over a row: the
// pattern (path.Match syntax) matches "repo:tag" or the bare repository.
// Without patterns every row matches.
func matchesReference(patterns []string, r repoTagDigest) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if r.tag != noneValue {
			if ok, _ := path.Match(p, r.repo+":"+r.tag); ok {
				return true
			}
		}
		if r.repo != noneValue {
			if ok, _ := path.Match(p, r.repo); ok {
				return true
			}
		}
	}
	return false
}

// errBadFilter is docker's message for a --filter without "=".
func errBadFilter(f string) error {
	return fmt.Errorf("invalid argument %q for \"-f, --filter\" flag: bad format of filter (expected name=value)", f)
}

// imageListFormat picks the template for the flags, like docker's
// NewImageFormat.
func imageListFormat(o imagesOptions) listFormat {
	f := o.format
	switch {
	case f == "" || f == formatTable:
		f = imageTableFormat
		if o.digests {
			f = imageTableFormatDigest
		}
		if o.quiet {
			f = quietIDFormat
		}
	case strings.HasPrefix(f, formatTable) && o.digests && !strings.Contains(f, "{{.Digest}}"):
		f = strings.Replace(f, "{{.Tag}}", "{{.Tag}}\t{{.Digest}}", 1)
	}
	return listFormat{Format: f, Header: imageHeader}
}

// imageRows turns the agent's images into docker's rows: one per repository
// and tag (and digest with --digests) that matches the reference patterns,
// "<none>" for untagged images, newest first.
func imageRows(images []*agentv1.Image, o imagesOptions, patterns []string, now time.Time) []any {
	images = slices.Clone(images)
	slices.SortStableFunc(images, func(a, b *agentv1.Image) int {
		return b.GetCreated().AsTime().Compare(a.GetCreated().AsTime())
	})
	var rows []any
	for _, img := range images {
		for _, rd := range imageRefs(img, o.digests) {
			// The agent picks the images; as docker's daemon does, only
			// the names that match a reference filter are listed.
			if matchesReference(patterns, rd) {
				rows = append(rows, newImageRow(img, rd, !o.noTrunc, now))
			}
		}
	}
	return rows
}

type repoTagDigest struct{ repo, tag, digest string }

// imageRefs is docker's imageFormatTaggedAndDigest: the (repo, tag, digest)
// triples an image is listed under.
func imageRefs(img *agentv1.Image, withDigests bool) []repoTagDigest {
	if len(img.RepoTags) == 0 && len(img.RepoDigests) == 0 {
		return []repoTagDigest{{noneValue, noneValue, noneValue}}
	}
	tags := map[string][]string{}
	var repos []string
	for _, rt := range img.RepoTags {
		repo, tag, ok := splitRepoTag(rt)
		if !ok {
			continue
		}
		if _, seen := tags[repo]; !seen {
			repos = append(repos, repo)
		}
		tags[repo] = append(tags[repo], tag)
	}
	digests := map[string][]string{}
	var digestOnly []string
	for _, rd := range img.RepoDigests {
		repo, d, ok := splitRepoDigest(rd)
		if !ok {
			continue
		}
		if _, seen := digests[repo]; !seen && tags[repo] == nil {
			digestOnly = append(digestOnly, repo)
		}
		digests[repo] = append(digests[repo], d)
	}
	var out []repoTagDigest
	for _, repo := range repos {
		for _, tag := range tags[repo] {
			if !withDigests || len(digests[repo]) == 0 {
				out = append(out, repoTagDigest{repo, tag, noneValue})
				continue
			}
			for _, d := range digests[repo] {
				out = append(out, repoTagDigest{repo, tag, d})
			}
		}
	}
	for _, repo := range digestOnly {
		if !withDigests {
			out = append(out, repoTagDigest{repo, noneValue, ""})
			continue
		}
		for _, d := range digests[repo] {
			out = append(out, repoTagDigest{repo, noneValue, d})
		}
	}
	return out
}

func newImageRow(img *agentv1.Image, r repoTagDigest, trunc bool, now time.Time) imageRow {
	id := img.Id
	if trunc {
		id = shortID(id)
	}
	created := img.GetCreated().AsTime()
	size := units.HumanSizeWithPrecision(float64(img.Size), 3)
	return imageRow{
		Containers:   containersValue(img.Containers),
		CreatedAt:    created.Truncate(time.Second).Local().String(),
		CreatedSince: units.HumanDuration(now.UTC().Sub(created)) + " ago",
		Digest:       r.digest,
		ID:           id,
		Repository:   r.repo,
		SharedSize:   "N/A",
		Size:         size,
		Tag:          r.tag,
		UniqueSize:   "N/A",
		VirtualSize:  size,
	}
}

// containersValue is docker's CONTAINERS cell: "N/A" when not counted.
func containersValue(n int64) string {
	if n < 0 {
		return "N/A"
	}
	return strconv.FormatInt(n, 10)
}
