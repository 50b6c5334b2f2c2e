//go:build linux

package guestinit

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// agentSocket is where the engine child also listens: init itself (and the
// serial-port multiplexer) reach the engine through it.
const agentSocket = "/run/berth/agent.sock"

// engine runs berth-agent as init's supervised child.
type engine struct {
	cfg    Config
	r      *reaper
	exe    string
	exited chan struct{} // closed when the engine exited cleanly (Shutdown)
	pid    int
	// serving, when set, runs once the engine first serves (init's
	// deferred work: the modules nothing needed earlier).
	serving func()
}

// args returns the engine's command line.
func (e *engine) args() []string {
	// The engine's exit powers the VM off: it stops the containers first
	// (docker's daemon shutdown) and trims the data disk while it runs.
	a := []string{"--data-dir", e.cfg.DataDir, "--socket", agentSocket, "--name", e.cfg.Hostname,
		"--stop-containers-on-exit", "--auto-trim"}
	if hasVsock() {
		a = append(a, "--vsock-port", strconv.FormatUint(uint64(e.cfg.Port), 10))
	}
	if e.cfg.Debug {
		a = append(a, "--log-level", "debug")
	}
	return a
}

// supervise starts the engine and restarts it whenever it crashes, until
// ctx ends. A clean exit (status 0, after System.Shutdown) closes
// e.exited: the VM is to power off.
func (e *engine) supervise(ctx context.Context) {
	backoff := 500 * time.Millisecond
	for first := true; ctx.Err() == nil; first = false {
		cmd := exec.Command(e.exe, e.args()...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stdout
		cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"}
		started := time.Now()
		w, err := e.r.start(cmd)
		if err != nil {
			logf("cannot start the engine: %v", err)
			return
		}
		e.pid = cmd.Process.Pid
		go e.announce(ctx, first)
		var ws unix.WaitStatus
		select {
		case ws = <-w:
		case <-ctx.Done():
			return // shutdown stops the engine
		}
		if ws.Exited() && ws.ExitStatus() == 0 {
			logf("engine exited (shutdown requested) uptime=%s", uptime())
			close(e.exited)
			return
		}
		logf("engine crashed (%s); restarting", describe(ws))
		if time.Since(started) > 30*time.Second {
			backoff = 500 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

// announce waits until the engine accepts connections and logs the
// milestone the boot benchmark reads.
func (e *engine) announce(ctx context.Context, first bool) {
	for start := time.Now(); ctx.Err() == nil && time.Since(start) < 60*time.Second; {
		c, err := net.DialTimeout("unix", agentSocket, time.Second)
		if err == nil {
			c.Close()
			what := "agent serving"
			if !first {
				what = "agent serving again"
			}
			logf("%s uptime=%s", what, uptime())
			if first && e.serving != nil {
				e.serving()
			}
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func describe(ws unix.WaitStatus) string {
	if ws.Exited() {
		return fmt.Sprintf("exit status %d", ws.ExitStatus())
	}
	return fmt.Sprintf("signal %v", ws.Signal())
}
