//go:build linux

package guestinit

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/berth-dev/berth/guest/internal/serialmux"
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

// serveSerial carries agent connections over the berth.agent serial port
// when the VM has no vsock: every stream of the multiplexer is spliced to
// a fresh connection to the engine's unix socket. The session survives
// engine restarts (new streams wait for the engine to listen again).
func serveSerial(ctx context.Context) {
	if hasVsock() {
		return
	}
	p := ""
	for end := time.Now().Add(5 * time.Second); p == "" && time.Now().Before(end); {
		if p = findSerialPort(serialPortName); p == "" {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if p == "" {
		logf("no vsock and no %s serial port: the host cannot reach the agent", serialPortName)
		return
	}
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		logf("open serial port %s: %v", p, err)
		return
	}
	defer f.Close()
	logf("agent connections over serial port %s (%s)", serialPortName, p)
	_ = serialmux.Serve(ctx, f, proxyToEngine)
}

// proxyToEngine splices one multiplexer stream to the engine.
func proxyToEngine(c net.Conn) {
	defer c.Close()
	var e net.Conn
	var err error
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if e, err = net.Dial("unix", agentSocket); err == nil || time.Now().After(end) {
			break
		}
	}
	if err != nil {
		return
	}
	defer e.Close()
	done := make(chan struct{})
	go func() {
		io.Copy(e, c)
		e.(*net.UnixConn).CloseWrite()
		close(done)
	}()
	io.Copy(c, e)
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	} else {
		c.Close()
	}
	<-done
}
