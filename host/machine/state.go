package machine

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"github.com/berth-dev/berth/host/internal/atomicfile"
)

// State is a machine's state as `berth machine ls` shows it.
type State string

// States.
const (
	StateStopped  State = "Stopped"
	StateStarting State = "Starting"
	StateRunning  State = "Running"
	StateStopping State = "Stopping"
)

// Running reports whether a daemon runs for the machine, in any state.
func (s State) Running() bool { return s != StateStopped }

// DaemonStatus is what the machine daemon writes to daemon.json.
type DaemonStatus struct {
	PID     int       `json:"pid"`
	State   State     `json:"state"`
	Started time.Time `json:"started"`
	Socket  string    `json:"socket,omitempty"`
}

// State returns the machine's state: Stopped unless its daemon holds the
// daemon lock, then what the daemon last recorded.
func (m *Machine) State() State {
	st, ok := m.Status()
	if !ok {
		return StateStopped
	}
	return st.State
}

// Status returns the daemon's status and whether a daemon runs.
func (m *Machine) Status() (DaemonStatus, bool) {
	if !isLocked(filepath.Join(m.dir, daemonLock)) {
		return DaemonStatus{State: StateStopped}, false
	}
	var st DaemonStatus
	b, err := os.ReadFile(filepath.Join(m.dir, daemonState))
	if err != nil || json.Unmarshal(b, &st) != nil || st.State == "" {
		st.State = StateStarting
	}
	return st, true
}

func writeStatus(dir string, st DaemonStatus) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, daemonState), append(b, '\n'), 0o600)
}
