package client

import (
	"fmt"
	"strconv"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/host/driver/qemu"
	"github.com/berth-dev/berth/host/machine"
)

const machineLsTable = "table {{.Name}}\t{{.Driver}}\t{{.State}}\t{{.CPUs}}\t{{.Memory}}\t{{.Disk}}"

// machineRow is one row of `berth machine ls`; --format templates name its fields.
type machineRow struct {
	Name   string
	Driver string
	State  string
	CPUs   string
	Memory string
	Disk   string
	Dir    string
}

func (c *cli) newMachineLsCommand() *cobra.Command {
	var (
		quiet  bool
		format string
	)
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List machines",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.machineLs(quiet, format)
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "only show machine names")
	cmd.Flags().StringVar(&format, "format", "", `format output with a Go template, "table ...", or "json"`)
	return cmd
}

func (c *cli) machineLs(quiet bool, format string) error {
	ms, err := c.machines().List()
	if err != nil {
		return err
	}
	switch {
	case quiet:
		format = "{{.Name}}"
	case format == "":
		format = machineLsTable
	}
	rows := make([]any, 0, len(ms))
	for _, m := range ms {
		rows = append(rows, newMachineRow(m))
	}
	lf := listFormat{Format: format, Header: map[string]string{
		"Name": "NAME", "Driver": "DRIVER", "State": "STATE", "CPUs": "CPUS",
		"Memory": "MEMORY", "Disk": "DISK", "Dir": "DIR",
	}}
	if err := lf.Write(c.out, rows); err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	return nil
}

func newMachineRow(m *machine.Machine) machineRow {
	return machineRow{
		Name:   m.Name,
		Driver: m.Config.Driver,
		State:  string(m.State()),
		CPUs:   strconv.Itoa(m.Config.CPUs),
		Memory: units.BytesSize(float64(m.Config.Memory)),
		Disk:   diskColumn(m),
		Dir:    m.Dir(),
	}
}

// diskColumn is the data disk's size, with the space its sparse file takes
// on the host first ("1.2GiB/64GiB") when the machine has one.
func diskColumn(m *machine.Machine) string {
	size := units.BytesSize(float64(m.Config.Disk))
	if used, _, err := qemu.DiskUsage(m.Dir()); err == nil {
		return units.BytesSize(float64(used)) + "/" + size
	}
	return size
}
