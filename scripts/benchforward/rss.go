//go:build linux

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/internal/machineproc"
)

// daemonRSSGoalMiB is issue 5's goal for an idle machine daemon.
const daemonRSSGoalMiB = 25

// printDaemonRSS prints the resident memory of the machine daemon whose
// machine dir is dir (<BERTH_HOME>/machines/<name>), labelled when.
func printDaemonRSS(dir, when string) error {
	pid := machineproc.PID(filepath.Join(dir, "daemon.json"))
	if pid == 0 {
		return fmt.Errorf("no machine daemon runs for %s (no pid in daemon.json): start the machine first", dir)
	}
	kib, err := rssKiB(pid)
	if err != nil {
		return err
	}
	fmt.Printf("machine daemon RSS, %s: %.1f MiB (goal < %d MiB)\n", when, float64(kib)/1024, daemonRSSGoalMiB)
	return nil
}

// rssKiB reads VmRSS of pid.
func rssKiB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
