package qemu

import (
	"context"
	"os/exec"
	"syscall"

	"github.com/berth-dev/berth/host/driver/bootimage"
)

const agentPort = bootimage.AgentPort

// setProcAttr keeps the child out of the daemon's signals.
func setProcAttr(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// vsockAvailable: qemu on macOS has no vhost-vsock.
func vsockAvailable() bool { return false }

func vsockCID(string) uint32 { return 0 }

// killStale does nothing on macOS: there is no cheap way to tell that the
// pid in the pid file is still this machine's qemu.
func killStale(context.Context, string) {}
