package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// series is the timings of one path (e.g. `berth run --rm` on the bridge).
type series struct {
	name string
	d    []time.Duration
}

// median is the middle value (the mean of the two middle values for an
// even count); 0 for no values.
func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// percentile is the nearest-rank p-th percentile (0 < p <= 100): the
// smallest value with at least p% of the values at or below it; 0 for no
// values.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	rank = max(1, min(rank, len(s)))
	return s[rank-1]
}

// fmtDur prints a duration in milliseconds with one decimal ("21.4 ms"),
// or in seconds from 10 s up ("12.31 s").
func fmtDur(d time.Duration) string {
	if d >= 10*time.Second {
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

// ratio is a/b as "1.42x", or "n/a" when b is zero.
func ratio(a, b time.Duration) string {
	if b <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2fx", float64(a)/float64(b))
}

// verdict says whether a goal is met: "ok", or "MISSED" when not, or "" when
// the figure is missing.
func verdict(known, met bool) string {
	switch {
	case !known:
		return ""
	case met:
		return "ok"
	default:
		return "MISSED"
	}
}

// printTable writes one line per series: runs, median, p90, min, max.
func printTable(w io.Writer, ss []series) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PATH\tRUNS\tMEDIAN\tP90\tMIN\tMAX")
	for _, s := range ss {
		if len(s.d) == 0 {
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", s.name, len(s.d), fmtDur(median(s.d)),
			fmtDur(percentile(s.d, 90)), fmtDur(slices.Min(s.d)), fmtDur(slices.Max(s.d)))
	}
	tw.Flush()
}

// goal is one line of the goals report.
type goal struct {
	what   string // "berth (none) / bare crun"
	figure string // "1.42x"
	target string // "<= 1.5x"
	status string // verdict
}

// startGoals compares the medians of issue 4's start paths with its goals:
// --network none within 1.5x of bare crun; the default bridge under 100 ms
// and at least 5x faster than docker on its default bridge. Zero medians
// are paths that were not measured.
func startGoals(berthNone, berthBridge, crun, dockerNone, dockerBridge time.Duration) []goal {
	var gs []goal
	if berthNone > 0 && crun > 0 {
		gs = append(gs, goal{"berth run --rm (none) / bare crun run", ratio(berthNone, crun), "<= 1.5x",
			verdict(true, float64(berthNone) <= 1.5*float64(crun))})
	}
	if berthBridge > 0 && crun > 0 {
		gs = append(gs, goal{"berth run --rm (bridge) / bare crun run", ratio(berthBridge, crun), "", ""})
	}
	if berthBridge > 0 {
		gs = append(gs, goal{"berth run --rm (bridge) median", fmtDur(berthBridge), "< 100 ms",
			verdict(true, berthBridge < 100*time.Millisecond)})
	}
	if dockerBridge > 0 && berthBridge > 0 {
		gs = append(gs, goal{"docker run --rm (bridge) / berth run --rm (bridge)", ratio(dockerBridge, berthBridge), ">= 5x",
			verdict(true, float64(dockerBridge) >= 5*float64(berthBridge))})
	}
	if dockerNone > 0 && berthNone > 0 {
		gs = append(gs, goal{"docker run --rm (none) / berth run --rm (none)", ratio(dockerNone, berthNone), "", ""})
	}
	if dockerNone > 0 && crun > 0 {
		gs = append(gs, goal{"docker run --rm (none) / bare crun run", ratio(dockerNone, crun), "", ""})
	}
	return gs
}

// printGoals writes the goals as an aligned list.
func printGoals(w io.Writer, gs []goal) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, g := range gs {
		line := g.what + "\t" + g.figure
		if g.target != "" {
			line += "\t(goal " + g.target + ")\t" + g.status
		}
		fmt.Fprintln(tw, strings.TrimRight(line, "\t"))
	}
	tw.Flush()
}
