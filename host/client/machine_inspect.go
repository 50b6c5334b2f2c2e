package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/host/machine"
)

// machineInspect is what `berth machine inspect` prints for one machine.
type machineInspect struct {
	Name               string
	Driver             string
	State              string
	CPUs               int
	Memory             int64
	Disk               int64
	InsecureRegistries []string
	Image              string   `json:",omitempty"`
	Shares             []string `json:",omitempty"`
	ForwardAll         bool     `json:",omitempty"`
	ForwardAddresses   []string `json:",omitempty"`
	Rosetta            bool     `json:",omitempty"`
	Created            time.Time
	Dir                string
	Socket             string
	Log                string
	DaemonPID          int `json:",omitempty"`
}

func (c *cli) newMachineInspectCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "inspect [NAME...]",
		Short: "Show machines' configuration and state as JSON",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{c.machine}
			}
			return c.machineInspect(args)
		},
	}
}

// machineInspect prints a JSON array like docker inspect; names that do not
// exist are reported after it, with exit status 1.
func (c *cli) machineInspect(names []string) error {
	out := []machineInspect{}
	var errs []error
	for _, n := range names {
		m, err := c.machines().Get(n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, newMachineInspect(m))
	}
	b, err := json.MarshalIndent(out, "", "    ")
	if err != nil {
		return err
	}
	fmt.Fprintln(c.out, string(b))
	return errors.Join(errs...)
}

func newMachineInspect(m *machine.Machine) machineInspect {
	st, _ := m.Status()
	return machineInspect{
		Name:               m.Name,
		Driver:             m.Config.Driver,
		State:              string(st.State),
		CPUs:               m.Config.CPUs,
		Memory:             m.Config.Memory,
		Disk:               m.Config.Disk,
		InsecureRegistries: m.Config.InsecureRegistries,
		Image:              m.Config.Image,
		Shares:             m.Config.Shares,
		ForwardAll:         m.Config.ForwardAll,
		ForwardAddresses:   m.Config.ForwardAddresses,
		Rosetta:            m.Config.Rosetta,
		Created:            m.Config.Created,
		Dir:                m.Dir(),
		Socket:             m.SocketPath(),
		Log:                m.LogPath(),
		DaemonPID:          st.PID,
	}
}
