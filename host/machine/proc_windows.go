//go:build windows

package machine

import (
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/windows"
)

// detach starts cmd without a console and in its own process group, so that
// it outlives the CLI and gets no Ctrl-C from the CLI's console.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{
		CreationFlags: windows.DETACHED_PROCESS | windows.CREATE_NEW_PROCESS_GROUP,
		HideWindow:    true,
	}
}

// terminate ends the process pid. Windows has no SIGTERM; the daemon's
// graceful stop there will come with the hcs driver (a stop request over
// its pipe).
func terminate(pid int) error { return kill(pid) }

// kill ends the process pid.
func kill(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}

// gone cannot tell cheaply here; callers rely on the daemon lock.
func gone(pid int) bool { return true }
