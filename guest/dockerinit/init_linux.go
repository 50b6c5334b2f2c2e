//go:build linux

package dockerinit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// reapEvery bounds how long a missed SIGCHLD could leave a zombie (tini
// wakes up as often).
const reapEvery = time.Second

// Main runs the init with args (os.Args[1:]: "-- COMMAND [ARG...]") and
// returns its exit status: the command's exit code, 128+N when signal N
// killed it, 126/127 when it cannot be run, 2 for bad arguments.
func Main(args []string) int {
	argv, err := parseArgs(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n%s\n", Name, err, usage)
		return exitUsage
	}
	if os.Getpid() != 1 {
		// Not the namespace's init (run by hand, or in a test): orphans
		// would go to another reaper unless this one is a subreaper.
		_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	}
	// Every signal, caught before the child exists, so none is lost. The
	// child starts with default dispositions (Go resets caught signals).
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs)
	defer signal.Stop(sigs)
	child, code := spawn(argv)
	if child == 0 {
		return code
	}
	return supervise(child, sigs)
}

// parseArgs drops the "--" docker puts before the command.
func parseArgs(args []string) ([]string, error) {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	} else if len(args) > 0 && strings.HasPrefix(args[0], "-") {
		return nil, fmt.Errorf("unknown option %q", args[0])
	}
	if len(args) == 0 {
		return nil, errors.New("no command given")
	}
	return args, nil
}

// spawn starts argv in a new process group, put in the terminal's
// foreground when stdin is a terminal (so ^C reaches the command). It
// returns the child's pid, or 0 and the exit status when it cannot start.
func spawn(argv []string) (pid, code int) {
	path, err := exec.LookPath(argv[0])
	if err == nil {
		pid, err = forkExec(path, argv)
		if err == nil {
			return pid, 0
		}
	}
	fmt.Fprintf(os.Stderr, "%s: exec %s failed: %v\n", Name, argv[0], err)
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, unix.ENOEXEC) {
		return 0, exitCannotExec
	}
	return 0, exitNotFound
}

// forkExec starts the command as the leader of a new process group, in
// the foreground of stdin's terminal when that is our controlling
// terminal (a terminal that is not, ENOTTY, leaves it in the background).
func forkExec(path string, argv []string) (int, error) {
	sys := &syscall.SysProcAttr{Setpgid: true}
	if _, err := unix.IoctlGetTermios(0, unix.TCGETS); err == nil {
		sys.Foreground, sys.Ctty = true, 0
	}
	attr := &syscall.ProcAttr{Env: os.Environ(), Files: []uintptr{0, 1, 2}, Sys: sys}
	pid, err := syscall.ForkExec(path, argv, attr)
	if err != nil && sys.Foreground && (errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EPERM)) {
		sys.Foreground = false
		pid, err = syscall.ForkExec(path, argv, attr)
	}
	return pid, err
}

// supervise forwards signals to the child's group and reaps children until
// the child has ended; it returns the child's exit status.
func supervise(child int, sigs <-chan os.Signal) int {
	tick := time.NewTicker(reapEvery)
	defer tick.Stop()
	for {
		select {
		case s := <-sigs:
			sig, ok := s.(syscall.Signal)
			if !ok {
				continue
			}
			switch sig {
			case unix.SIGCHLD:
			case unix.SIGURG, unix.SIGTTIN, unix.SIGTTOU:
				// SIGURG is the Go runtime's own preemption signal; the
				// tty ones concern the init, in the background group.
				continue
			default:
				forward(child, sig)
				continue
			}
		case <-tick.C:
		}
		if code, done := reap(child); done {
			return code
		}
	}
}

// forward sends sig to the child's process group, or to the child alone
// when it left that group.
func forward(child int, sig syscall.Signal) {
	if err := unix.Kill(-child, sig); errors.Is(err, unix.ESRCH) {
		_ = unix.Kill(child, sig)
	}
}

// reap collects every child that has ended; done reports that the main
// child was among them, with its exit status in code.
func reap(child int) (code int, done bool) {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return code, done
		}
		if pid == child {
			code, done = exitStatus(ws), true
		}
	}
}

// exitStatus is a shell's $?: the exit code, or 128+N for signal N.
func exitStatus(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return exitSignalBase + int(ws.Signal())
	}
	return ws.ExitStatus()
}
