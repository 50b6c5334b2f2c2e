package client

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"text/template"
	"unicode"
)

// Docker's --format keywords.
const (
	formatTable = "table" // tabular output with headers
	formatJSON  = "json"  // one JSON object per line
)

// templateFuncs are the functions docker offers in --format templates.
var templateFuncs = template.FuncMap{
	"json": func(v any) string {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return ""
		}
		return strings.TrimSpace(buf.String())
	},
	"split": strings.Split,
	"join":  strings.Join,
	"title": titleCase,
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	"pad": func(s string, before, after int) string {
		return strings.Repeat(" ", before) + s + strings.Repeat(" ", after)
	},
	"truncate": truncate,
	"println":  fmt.Sprintln,
}

// headerFuncs replace templateFuncs when a table's header row is rendered:
// the header cells are plain strings and must come out unchanged.
var headerFuncs = template.FuncMap{
	"json":     func(v string) string { return v },
	"split":    func(v string, _ string) string { return v },
	"join":     func(v string, _ string) string { return v },
	"title":    func(v string) string { return v },
	"lower":    func(v string) string { return v },
	"upper":    func(v string) string { return v },
	"pad":      func(v string, _, _ int) string { return v },
	"truncate": func(v string, _ int) string { return v },
	"println":  func(v string) string { return v },
}

func titleCase(s string) string {
	prev := ' '
	return strings.Map(func(r rune) rune {
		defer func() { prev = r }()
		if unicode.IsSpace(prev) || unicode.IsPunct(prev) {
			return unicode.ToTitle(r)
		}
		return r
	}, s)
}

func truncate(s string, n int) string {
	if n < 0 || len(s) <= n {
		return s
	}
	return s[:n]
}

// parseTemplate parses a --format template with docker's functions. A
// malformed template is reported the way docker reports it.
func parseTemplate(format string) (*template.Template, error) {
	t, err := template.New("").Funcs(templateFuncs).Parse(format)
	if err != nil {
		return nil, fmt.Errorf("template parsing error: %w", err)
	}
	return t, nil
}

// listFormat renders rows for a list command (images, ps, volume ls, ...)
// the way docker's formatter does: "table ..." formats get a header row and
// columns aligned by a tabwriter, "json" writes each row as one JSON object
// per line, any other template is executed once per row.
type listFormat struct {
	// Format is what the user gave with --format, already defaulted by the
	// command (usually to its table format).
	Format string
	// Header maps row field names to column titles ("ID": "IMAGE ID").
	Header map[string]string
}

// isTable reports whether f draws a table with headers.
func (f listFormat) isTable() bool { return strings.HasPrefix(f.Format, formatTable) }

// template returns the per-row template text.
func (f listFormat) template() string {
	switch {
	case f.Format == formatJSON:
		return "{{json .}}"
	case f.isTable():
		t := strings.Trim(f.Format[len(formatTable):], " ")
		return strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(t)
	}
	return f.Format
}

// Write renders rows to w. rows holds one value per row whose exported
// fields or methods the template names.
func (f listFormat) Write(w io.Writer, rows []any) error {
	text := f.template()
	tmpl, err := parseTemplate(text)
	if err != nil {
		return err
	}
	var body bytes.Buffer
	for _, r := range rows {
		if err := tmpl.Execute(&body, r); err != nil {
			return fmt.Errorf("template: %w", err)
		}
		body.WriteByte('\n')
	}
	if !f.isTable() {
		_, err := body.WriteTo(w)
		return err
	}
	htmpl, err := template.New("").Funcs(headerFuncs).Parse(text)
	if err != nil {
		return fmt.Errorf("template parsing error: %w", err)
	}
	// The tab writer writes each cell and its padding separately: render
	// into memory and write the table at once.
	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 10, 1, 3, ' ', 0)
	var head bytes.Buffer
	if err := htmpl.Execute(&head, f.Header); err != nil {
		return fmt.Errorf("template: %w", err)
	}
	head.WriteByte('\n')
	if _, err := head.WriteTo(tw); err != nil {
		return err
	}
	if _, err := body.WriteTo(tw); err != nil {
		return err
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = table.WriteTo(w)
	return err
}
