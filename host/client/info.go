package client

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"text/template"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/berth-dev/berth/proto/version"
)

// systemInfo is `berth info`'s data, with docker's field names so that
// --format templates written for docker work ({{.Driver}} is the storage
// driver, as in docker; the machine's driver is {{.MachineDriver}}).
type systemInfo struct {
	ClientInfo         clientInfo
	Containers         int64
	ContainersRunning  int64
	ContainersPaused   int64
	ContainersStopped  int64
	Images             int64
	ServerVersion      string
	Driver             string
	DriverStatus       [][2]string
	CgroupDriver       string
	CgroupVersion      string
	DefaultRuntime     string
	KernelVersion      string
	OperatingSystem    string
	OSType             string
	Architecture       string
	NCPU               int64
	MemTotal           int64
	Name               string
	DockerRootDir      string
	InsecureRegistries []string
	Machine            string
	MachineDriver      string
}

type clientInfo struct {
	Version string
	Machine string
	GoOS    string
	GoArch  string
}

var infoFuncs = template.FuncMap{
	"bytes": func(n int64) string { return units.BytesSize(float64(n)) },
}

const infoTemplate = `Client:
 Version:    {{.ClientInfo.Version}}
 Machine:    {{.ClientInfo.Machine}}

Server:
 Containers: {{.Containers}}
  Running: {{.ContainersRunning}}
  Paused: {{.ContainersPaused}}
  Stopped: {{.ContainersStopped}}
 Images: {{.Images}}
 Server Version: {{.ServerVersion}}
 Storage Driver: {{.Driver}}
{{- range .DriverStatus}}
  {{index . 0}}: {{index . 1}}
{{- end}}
 Logging Driver: json-file
 Cgroup Driver: {{.CgroupDriver}}
 Cgroup Version: {{.CgroupVersion}}
 Default Runtime: {{.DefaultRuntime}}
 Kernel Version: {{.KernelVersion}}
 Operating System: {{.OperatingSystem}}
 OSType: {{.OSType}}
 Architecture: {{.Architecture}}
 CPUs: {{.NCPU}}
 Total Memory: {{bytes .MemTotal}}
 Name: {{.Name}}
 Berth Root Dir: {{.DockerRootDir}}
 Machine: {{.Machine}}
 Driver: {{.MachineDriver}}
{{- if .InsecureRegistries}}
 Insecure Registries:
{{- range .InsecureRegistries}}
  {{.}}
{{- end}}
{{- end}}
`

func (c *cli) newInfoCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "info [OPTIONS]",
		Short: "Display system-wide information",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.info(cmd.Context(), format)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "format output with a Go template, or \"json\"")
	return cmd
}

// info prints the engine's info, starting the machine if need be.
func (c *cli) info(ctx context.Context, format string) error {
	tmpl, err := infoFormat(format)
	if err != nil {
		return err
	}
	info, err := c.systemInfo(ctx)
	if err != nil {
		return err
	}
	if err := tmpl.Execute(c.out, info); err != nil {
		return fmt.Errorf("template: %w", err)
	}
	if format != "" && !strings.HasSuffix(format, "\n") {
		fmt.Fprintln(c.out)
	}
	return nil
}

func infoFormat(format string) (*template.Template, error) {
	switch format {
	case "":
		return template.Must(template.New("").Funcs(infoFuncs).Parse(infoTemplate)), nil
	case formatJSON:
		format = "{{json .}}"
	}
	t, err := template.New("").Funcs(templateFuncs).Funcs(infoFuncs).Parse(format)
	if err != nil {
		return nil, fmt.Errorf("template parsing error: %w", err)
	}
	return t, nil
}

func (c *cli) systemInfo(ctx context.Context) (*systemInfo, error) {
	a, err := c.agent(ctx)
	if err != nil {
		return nil, err
	}
	r, err := a.System.Info(ctx, &emptypb.Empty{})
	if err != nil {
		return nil, fromAgent(err)
	}
	info := &systemInfo{
		ClientInfo: clientInfo{Version: version.Version, Machine: c.machine, GoOS: runtime.GOOS, GoArch: runtime.GOARCH},
		Containers: r.Containers, ContainersRunning: r.ContainersRunning,
		ContainersPaused: r.ContainersPaused, ContainersStopped: r.ContainersStopped,
		Images: r.Images, ServerVersion: r.ServerVersion, Driver: r.StorageDriver,
		CgroupDriver: r.CgroupDriver, CgroupVersion: r.CgroupVersion, DefaultRuntime: r.DefaultRuntime,
		KernelVersion: r.KernelVersion, OperatingSystem: r.OperatingSystem, OSType: r.OsType,
		Architecture: r.Architecture, NCPU: r.Ncpu, MemTotal: r.MemTotal, Name: r.Name,
		DockerRootDir: r.RootDir, InsecureRegistries: r.InsecureRegistries,
		Machine: a.machine.Name, MachineDriver: a.machine.Config.Driver,
	}
	if r.BackingFilesystem != "" {
		info.DriverStatus = [][2]string{{"Backing Filesystem", r.BackingFilesystem}}
	}
	if info.InsecureRegistries == nil {
		info.InsecureRegistries = []string{}
	}
	return info, nil
}
