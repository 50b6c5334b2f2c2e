//go:build unix

package machine

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// detach makes cmd a session leader, so that it outlives the CLI and gets no
// signals from the CLI's terminal.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
}

// terminate asks the process pid to stop.
func terminate(pid int) error { return syscall.Kill(pid, syscall.SIGTERM) }

// kill ends the process pid.
func kill(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}

// gone reports whether process pid has exited (a zombie counts as exited).
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false // no /proc (macOS): Kill said it exists
	}
	i := bytes.LastIndexByte(b, ')')
	return i > 0 && bytes.HasPrefix(b[i:], []byte(") Z"))
}
