package client

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"strings"
	"text/template"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/berth-dev/berth/host/machine"
	"github.com/berth-dev/berth/proto/version"
)

// versionInfo is what `berth version --format` templates see.
type versionInfo struct {
	Client clientVersion
	Server *serverVersion `json:",omitempty"`
}

type clientVersion struct {
	Version    string
	APIVersion string `json:"ApiVersion"`
	GoVersion  string
	Os         string
	Arch       string
	Machine    string
}

type serverVersion struct {
	Version       string
	APIVersion    string `json:"ApiVersion"`
	GitCommit     string
	GoVersion     string
	Os            string
	Arch          string
	KernelVersion string
}

const versionTemplate = `Client:
 Version:           {{.Client.Version}}
 API version:       {{.Client.APIVersion}}
 Go version:        {{.Client.GoVersion}}
 OS/Arch:           {{.Client.Os}}/{{.Client.Arch}}
 Machine:           {{.Client.Machine}}
{{- if .Server}}

Server: berth
 Engine:
  Version:          {{.Server.Version}}
  API version:      {{.Server.APIVersion}}
  Go version:       {{.Server.GoVersion}}
{{- if .Server.GitCommit}}
  Git commit:       {{.Server.GitCommit}}
{{- end}}
  OS/Arch:          {{.Server.Os}}/{{.Server.Arch}}
  Kernel Version:   {{.Server.KernelVersion}}
{{- end}}
`

func (c *cli) newVersionCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "version [OPTIONS]",
		Short: "Show the berth version information",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.version(cmd.Context(), format)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "format output with a Go template, or \"json\"")
	return cmd
}

// version prints the client's version and, when the machine runs, the
// agent's. Like docker, it does not start anything: with the machine stopped
// it prints the client part and fails.
func (c *cli) version(ctx context.Context, format string) error {
	tmpl, err := versionFormat(format)
	if err != nil {
		return err
	}
	v := versionInfo{Client: clientVersion{
		Version: version.Version, APIVersion: version.APIVersion,
		GoVersion: runtime.Version(), Os: runtime.GOOS, Arch: runtime.GOARCH, Machine: c.machine,
	}}
	var serr error
	v.Server, serr = c.serverVersion(ctx)
	var buf bytes.Buffer // one write, not one per template piece
	terr := tmpl.Execute(&buf, v)
	if (terr == nil || serr != nil) && format != "" && !strings.HasSuffix(format, "\n") {
		buf.WriteByte('\n')
	}
	if _, err := buf.WriteTo(c.out); err != nil && serr == nil {
		return err
	}
	if terr != nil && serr == nil {
		return fmt.Errorf("template: %w", terr)
	}
	return serr
}

func versionFormat(format string) (*template.Template, error) {
	switch format {
	case "":
		return template.Must(template.New("").Parse(versionTemplate)), nil
	case formatJSON:
		format = "{{json .}}"
	}
	return parseTemplate(format)
}

// serverVersion asks the agent, or says why it cannot.
func (c *cli) serverVersion(ctx context.Context) (*serverVersion, error) {
	m, err := c.machines().Get(c.machine)
	if err != nil {
		return nil, err
	}
	// A starting machine (booting, or its daemon restarting a dead agent)
	// is waited for, as every other command does; a stopped one is not
	// started just to print a version.
	var a *agentConn
	switch st := m.State(); st {
	case machine.StateRunning: // connect to m as read: no second look-up
		a, err = c.connect(m)
	case machine.StateStarting:
		a, err = c.agent(ctx)
	default:
		return nil, fmt.Errorf("cannot connect to machine %q: it is %s; start it with: berth machine start %s",
			m.Name, strings.ToLower(string(st)), m.Name)
	}
	if err != nil {
		return nil, err
	}
	r, err := a.System.Version(ctx, &emptypb.Empty{})
	if err != nil {
		return nil, fromAgent(err)
	}
	return &serverVersion{
		Version: r.Version, APIVersion: r.ApiVersion, GitCommit: r.GitCommit, GoVersion: r.GoVersion,
		Os: r.Os, Arch: r.Arch, KernelVersion: r.KernelVersion,
	}, nil
}
