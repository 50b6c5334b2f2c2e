package container

import (
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"time"

	runc "github.com/containerd/go-runc"
	"golang.org/x/sys/unix"
)

// reaper is the shim's child reaper. As a subreaper the shim inherits
// orphans (the container's init, exec'd processes, crun's intermediate
// children); every one of them must be reaped, or the container's pid
// namespace cannot finish dying. It is also go-runc's process monitor, so
// that crun processes are not waited for twice.
type reaper struct {
	mu     sync.Mutex
	subs   map[int]chan runc.Exit
	exited map[int]int // statuses of pids nobody waits for (yet)
}

func newReaper() *reaper {
	r := &reaper{subs: map[int]chan runc.Exit{}, exited: map[int]int{}}
	ch := make(chan os.Signal, 32)
	signal.Notify(ch, unix.SIGCHLD)
	go func() {
		for range ch {
			r.reap()
		}
	}()
	return r
}

func (r *reaper) reap() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
		r.mu.Lock()
		if ch, ok := r.subs[pid]; ok {
			delete(r.subs, pid)
			ch <- runc.Exit{Timestamp: time.Now(), Pid: pid, Status: exitCode(ws)}
		} else {
			r.exited[pid] = exitCode(ws)
		}
		r.mu.Unlock()
	}
}

// subscribe returns a channel receiving pid's exit status.
func (r *reaper) subscribe(pid int) chan runc.Exit {
	ch := make(chan runc.Exit, 1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if st, ok := r.exited[pid]; ok {
		delete(r.exited, pid)
		ch <- runc.Exit{Timestamp: time.Now(), Pid: pid, Status: st}
		return ch
	}
	r.subs[pid] = ch
	return ch
}

// wait blocks until pid (a child of the shim) has exited.
func (r *reaper) wait(pid int) int {
	e := <-r.subscribe(pid)
	return e.Status
}

// Start implements runc.ProcessMonitor: the pid is registered before the
// reaper can see its exit.
func (r *reaper) Start(c *exec.Cmd) (chan runc.Exit, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := c.Start(); err != nil {
		return nil, err
	}
	ch := make(chan runc.Exit, 1)
	r.subs[c.Process.Pid] = ch
	return ch, nil
}

// StartLocked implements runc.ProcessMonitor.
func (r *reaper) StartLocked(c *exec.Cmd) (chan runc.Exit, error) { return r.Start(c) }

// Wait implements runc.ProcessMonitor.
func (r *reaper) Wait(c *exec.Cmd, ec chan runc.Exit) (int, error) {
	e := <-ec
	c.Wait() //nolint:errcheck // already reaped (ECHILD); this only flushes the I/O copies
	return e.Status, nil
}
