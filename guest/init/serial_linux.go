//go:build linux

package guestinit

import (
	"context"
	"os"
	"path/filepath"
	"strings"
)

// serialPortName is the virtio-serial port the qemu driver carries the
// agent connection on when the VM has no vsock.
const serialPortName = "berth.agent"

// findSerialPort returns /dev/vportNpM of the port named name, or "".
func findSerialPort(name string) string {
	ms, _ := filepath.Glob("/sys/class/virtio-ports/*/name")
	for _, m := range ms {
		b, err := os.ReadFile(m)
		if err == nil && strings.TrimSpace(string(b)) == name {
			return "/dev/" + filepath.Base(filepath.Dir(m))
		}
	}
	return ""
}

// serveSerial logs whether the agent's serial port exists. Carrying the
// agent connection over it needs the serial multiplexer's guest side,
// which is not written yet.
func serveSerial(ctx context.Context) {
	if _, err := os.Stat("/dev/vsock"); err == nil {
		return
	}
	if p := findSerialPort(serialPortName); p != "" {
		logf("serial port %s is %s (no vsock); the serial multiplexer is not implemented yet", serialPortName, p)
	}
	_ = ctx
}
