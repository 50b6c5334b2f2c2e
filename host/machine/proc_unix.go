//go:build unix

package machine

import (
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
