//go:build linux

package guestinit

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ErrNotPID1 is returned by Main when the process is not PID 1.
var ErrNotPID1 = errors.New("berth init runs only as PID 1 inside berth's VM")

// Main is PID 1. It returns only when it is not PID 1; otherwise it ends
// by powering the VM off.
func Main() error {
	if os.Getpid() != 1 {
		return ErrNotPID1
	}
	logf("start uptime=%s", uptime())
	if err := leaveInitramfs(); err != nil {
		logf("warning: root stays on the initramfs (crun's pivot_root will fail): %v", err)
	}
	if err := mountBase(); err != nil {
		logf("error: %v", err)
	}
	_ = unix.Reboot(unix.LINUX_REBOOT_CMD_CAD_OFF) // ctrl-alt-del becomes SIGINT
	b, _ := os.ReadFile("/proc/cmdline")
	cfg, err := ParseCmdline(string(b))
	if err != nil {
		logf("error: %v; using defaults", err)
		cfg, _ = ParseCmdline("")
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGPWR, syscall.SIGUSR2)
	r := newReaper()
	ctx, cancel := context.WithCancel(context.Background())
	later := setup(ctx, cfg, r) // setup_linux.go
	exe, err := os.Executable()
	if err != nil {
		exe = "/init"
	}
	e := &engine{cfg: cfg, r: r, exe: exe, exited: make(chan struct{}), serving: later}
	go e.supervise(ctx)
	select {
	case s := <-sigs:
		logf("%v: shutting down", s)
	case <-e.exited:
	}
	cancel()
	shutdown(e, cfg)
	return nil
}

// boot does the first steps, which need no module: clock, entropy,
// hostname.
func boot(cfg Config) {
	if !cfg.Time.IsZero() {
		// berth.time is the host's time when the VM was started; the kernel
		// has run since (under emulation, seconds). The machine daemon
		// pushes the exact time once the agent serves (System.SetTime).
		if err := setClock(cfg.Time.Add(sinceBoot())); err != nil {
			logf("warning: set clock: %v", err)
		}
	}
	if err := seedEntropy(cfg.Seed); err != nil {
		logf("warning: seed entropy: %v", err)
	}
	if err := setHostname(cfg.Hostname); err != nil {
		logf("warning: hostname: %v", err)
	}
}

// engineStopWait bounds how long init waits for the engine to stop the
// containers (each gets its own stop timeout, 10 s by default) and exit.
const engineStopWait = 2 * time.Minute

// shutdown stops the engine, which stops the containers as docker's daemon
// does (stop signal, stop timeout, SIGKILL; restart policies hold off and
// bring them back at the next boot), then whatever else runs (SIGTERM,
// then SIGKILL after a grace period), syncs, unmounts and powers off. It
// never returns.
func shutdown(e *engine, cfg Config) {
	if e.pid > 0 {
		logf("stopping the engine and the containers uptime=%s", uptime())
		_ = unix.Kill(e.pid, unix.SIGTERM)
		waitGone(func() bool { return unix.Kill(e.pid, 0) == nil && !isZombie(e.pid) }, engineStopWait)
	}
	_ = unix.Kill(-1, unix.SIGTERM)
	if !waitGone(othersAlive, 5*time.Second) {
		_ = unix.Kill(-1, unix.SIGKILL)
		waitGone(othersAlive, 2*time.Second)
	}
	unix.Sync()
	for i := len(cfg.Shares) - 1; i >= 0; i-- {
		_ = unix.Unmount(cfg.Shares[i].Path, unix.MNT_DETACH)
	}
	if err := unix.Unmount(cfg.DataDir, 0); err != nil && !errors.Is(err, unix.EINVAL) {
		logf("warning: unmount %s: %v; remounting read-only", cfg.DataDir, err)
		_ = unix.Mount("", cfg.DataDir, "", unix.MS_REMOUNT|unix.MS_RDONLY, "")
	}
	unix.Sync()
	logf("power off uptime=%s", uptime())
	for {
		_ = unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
		time.Sleep(time.Second)
	}
}

// waitGone polls alive until it reports false or d passes; it reports
// whether alive became false.
func waitGone(alive func() bool, d time.Duration) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if !alive() {
			return true
		}
	}
	return !alive()
}

func isZombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] == 'Z'
}

// othersAlive reports whether a user process other than PID 1 runs
// (kernel threads have an empty cmdline; zombies are being reaped).
func othersAlive() bool {
	ents, _ := os.ReadDir("/proc")
	for _, d := range ents {
		pid, err := strconv.Atoi(d.Name())
		if err != nil || pid == 1 {
			continue
		}
		if b, _ := os.ReadFile("/proc/" + d.Name() + "/cmdline"); len(b) > 0 && !isZombie(pid) {
			return true
		}
	}
	return false
}
