// Package machineproc finds the processes of a berth machine from outside,
// through the files its state dir (<BERTH_HOME>/machines/<name>) keeps: the
// machine daemon's JSON status, qemu's and the native agent's pid files.
// Tests and benchmarks that drive machines with the berth binary use it to
// check that a stopped machine left nothing running and to kill what a
// failed run left behind. berth itself does not: host/machine owns these
// files.
package machineproc

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
)

// Files are the files of a machine dir that name a process: the daemon's
// status, qemu's pid file (qemu driver) and the agent's (native driver).
var Files = []string{"daemon.json", "qemu.pid", "agent.pid"}

// PID reads a process id from a pid file (a decimal number) or a JSON
// status with a "pid" field. It is 0 when the file is missing or names none.
func PID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	var st struct{ PID int }
	if json.Unmarshal(b, &st) == nil && st.PID > 0 {
		return st.PID
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n < 0 {
		return 0
	}
	return n
}
