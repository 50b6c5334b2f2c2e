package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

func (c *cli) newImageInspectCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:                   "inspect [OPTIONS] IMAGE [IMAGE...]",
		Short:                 "Display detailed information on one or more images",
		Args:                  requiresMinArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runImageInspect(cmd.Context(), format, args)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template")
	return cmd
}

// runImageInspect prints docker's inspect JSON (or the template's output)
// for each image; unknown images are reported after the rest.
func (c *cli) runImageInspect(ctx context.Context, format string, refs []string) error {
	a, err := c.agent(ctx)
	if err != nil {
		return err
	}
	return inspectObjects(c.out, format, refs, func(ref string) (any, error) {
		r, err := a.Images.Inspect(ctx, &agentv1.InspectImageRequest{Ref: ref})
		if err != nil {
			return nil, noSuchImage(ref, fromAgent(err))
		}
		return newImageInspect(r)
	})
}

// inspectObjects is docker's inspect: without a format, one JSON array of
// every object found, indented by four spaces; with one, the template's
// output per object. Objects that could not be got are reported at the end
// with exit status 1.
func inspectObjects(out io.Writer, format string, refs []string, get func(string) (any, error)) error {
	if format == formatJSON {
		format = ""
	}
	var tmpl interface {
		Execute(io.Writer, any) error
	}
	if format != "" {
		t, err := parseTemplate(format)
		if err != nil {
			return withExitCode(64, err)
		}
		tmpl = t
	}
	var raws []json.RawMessage
	var failed []string
	for _, ref := range refs {
		obj, err := get(ref)
		if err == nil {
			var raw []byte
			raw, err = json.Marshal(obj)
			if err == nil && tmpl != nil {
				err = executeInspect(out, tmpl, obj, raw)
			}
			raws = append(raws, raw)
		}
		if err != nil {
			failed = append(failed, inspectErrorLine(err))
		}
	}
	if tmpl == nil {
		if err := writeIndentedArray(out, raws); err != nil {
			return err
		}
	}
	if len(failed) > 0 {
		return withExitCode(1, errors.New(strings.Join(failed, "\n")))
	}
	return nil
}

// executeInspect runs the template on the typed object and, when that
// fails (a field only the JSON has), on its JSON form, as docker does.
func executeInspect(out io.Writer, tmpl interface{ Execute(io.Writer, any) error }, obj any, raw []byte) error {
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, obj); err != nil {
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber() // sizes print as 4261550, not 4.26155e+06
		if jerr := dec.Decode(&m); jerr != nil {
			return fmt.Errorf("template: %w", err)
		}
		buf.Reset()
		if err := tmpl.Execute(&buf, m); err != nil {
			return fmt.Errorf("template: %w", err)
		}
	}
	buf.WriteByte('\n')
	_, err := buf.WriteTo(out)
	return err
}

func writeIndentedArray(out io.Writer, raws []json.RawMessage) error {
	if len(raws) == 0 {
		_, err := io.WriteString(out, "[]\n")
		return err
	}
	all, err := json.Marshal(raws)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, all, "", "    "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err = buf.WriteTo(out)
	return err
}

// inspectErrorLine is how docker prints an inspect failure: "Error: No
// such image: x" for unknown objects, the daemon's message otherwise.
func inspectErrorLine(err error) string {
	var de *daemonError
	if errors.As(err, &de) {
		return "Error response from daemon: " + cleanDaemonMessage(de.err.Error())
	}
	return "Error: " + err.Error()
}
