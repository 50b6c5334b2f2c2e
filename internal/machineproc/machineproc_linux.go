package machineproc

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// Alive reports whether process pid exists and is not a zombie.
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i > 0 && !bytes.HasPrefix(b[i:], []byte(") Z"))
}

// Running returns, by file name, the processes Files in dir name that
// still run.
func Running(dir string) map[string]int {
	running := map[string]int{}
	for _, f := range Files {
		if pid := PID(filepath.Join(dir, f)); pid > 1 && Alive(pid) {
			running[f] = pid
		}
	}
	return running
}

// Kill sends SIGKILL to every process the machine dir names that still
// runs, for a test's or benchmark's cleanup after `berth machine stop`, and
// returns the pids it killed.
func Kill(dir string) []int {
	var killed []int
	for _, pid := range Running(dir) {
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			killed = append(killed, pid)
		}
	}
	return killed
}
