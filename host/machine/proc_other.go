//go:build !unix

package machine

import (
	"os"
	"os/exec"
)

// detach does nothing here yet.
func detach(cmd *exec.Cmd) {}

// terminate ends the process pid (no graceful signal here yet).
func terminate(pid int) error { return kill(pid) }

// kill ends the process pid.
func kill(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}

// gone cannot tell here; callers rely on the daemon lock.
func gone(pid int) bool { return true }
