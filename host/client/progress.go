package client

import (
	"fmt"
	"io"
	"os"
	"strings"

	units "github.com/docker/go-units"
	"golang.org/x/term"
)

// progressLine is one progress message: about a layer when ID is set, about
// the whole operation otherwise.
type progressLine struct {
	ID      string
	Status  string
	Current int64
	Total   int64
}

// progressPrinter draws progress messages the way docker's jsonmessage
// stream does. On a terminal each layer keeps one line that is redrawn in
// place ("a3ed95caeb02: Downloading [==>   ]  1.2MB/3.4MB"); elsewhere
// every change of status is one plain line and byte counts are left out.
type progressPrinter struct {
	out   io.Writer
	tty   bool
	width int // terminal columns; bars need more than 110

	lines map[string]int    // layer id -> line index, in order of appearance
	last  map[string]string // layer id -> last status printed (plain mode)
}

// newProgressPrinter draws on out, in place when out is a terminal.
func newProgressPrinter(out io.Writer) *progressPrinter {
	p := &progressPrinter{out: out, width: 200, lines: map[string]int{}, last: map[string]string{}}
	if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
			p.width = w
		}
	}
	return p
}

// barStatuses are the statuses whose messages carry byte counts.
var barStatuses = map[string]bool{
	"Downloading":   true,
	"Extracting":    true,
	"Pushing":       true,
	"Loading layer": true,
}

// Print draws one message.
func (p *progressPrinter) Print(m progressLine) {
	if m.ID == "" || strings.HasPrefix(m.Status, "Pulling from ") {
		// A message about the whole operation ("1: Pulling from x",
		// "Digest: ...") ends the block of layer lines: later layer
		// messages start a new block below it.
		p.lines = map[string]int{}
		if m.ID != "" {
			fmt.Fprintf(p.out, "%s: ", m.ID)
		}
		fmt.Fprintf(p.out, "%s\n", m.Status)
		return
	}
	if !p.tty {
		if barStatuses[m.Status] || p.last[m.ID] == m.Status {
			return
		}
		p.last[m.ID] = m.Status
		fmt.Fprintf(p.out, "%s: %s\n", m.ID, m.Status)
		return
	}
	line, ok := p.lines[m.ID]
	if !ok {
		line = len(p.lines)
		p.lines[m.ID] = line
		fmt.Fprint(p.out, "\n")
	}
	up := len(p.lines) - line
	fmt.Fprintf(p.out, "\x1b[%dA\x1b[2K\r%s: %s %s\r\x1b[%dB", up, m.ID, m.Status, p.bar(m), up)
}

// bar is docker's JSONProgress.String without the time left: the bar (on
// wide terminals) and "current/total".
func (p *progressPrinter) bar(m progressLine) string {
	if !barStatuses[m.Status] || (m.Current <= 0 && m.Total <= 0) {
		return ""
	}
	if m.Total <= 0 {
		return fmt.Sprintf("%8v", units.HumanSize(float64(m.Current)))
	}
	pct := min(int(float64(m.Current)/float64(m.Total)*100)/2, 50)
	var box string
	if p.width > 110 {
		box = fmt.Sprintf("[%s>%s] ", strings.Repeat("=", pct), strings.Repeat(" ", max(50-pct, 0)))
	}
	cur := units.HumanSize(float64(m.Current))
	if m.Current > m.Total {
		return box + fmt.Sprintf("%8v", cur)
	}
	return box + fmt.Sprintf("%8v/%v", cur, units.HumanSize(float64(m.Total)))
}
