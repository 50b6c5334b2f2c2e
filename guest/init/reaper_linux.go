//go:build linux

package guestinit

import (
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// reaper is PID 1's only waiter: it reaps every child (the ones init
// started and the orphans the kernel hands it) and delivers the status of
// init's own children to whoever started them. Nothing else in init may
// call wait, so the statuses never race.
type reaper struct {
	mu      sync.Mutex
	waiters map[int]chan unix.WaitStatus
}

func newReaper() *reaper {
	r := &reaper{waiters: map[int]chan unix.WaitStatus{}}
	ch := make(chan os.Signal, 16)
	signal.Notify(ch, syscall.SIGCHLD)
	go func() {
		for range ch {
			r.reap()
		}
	}()
	return r
}

// reap collects every exited child.
func (r *reaper) reap() {
	for {
		var ws unix.WaitStatus
		r.mu.Lock()
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err != nil || pid <= 0 {
			r.mu.Unlock()
			return
		}
		if w, ok := r.waiters[pid]; ok {
			delete(r.waiters, pid)
			w <- ws
		}
		r.mu.Unlock()
	}
}

// start starts cmd (whose Stdout/Stderr must be files or nil, since
// cmd.Wait is never called) and returns a channel that receives its
// exit status.
func (r *reaper) start(cmd *exec.Cmd) (<-chan unix.WaitStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	w := make(chan unix.WaitStatus, 1)
	r.waiters[cmd.Process.Pid] = w
	return w, nil
}

// run starts cmd and waits for it.
func (r *reaper) run(cmd *exec.Cmd) (unix.WaitStatus, error) {
	w, err := r.start(cmd)
	if err != nil {
		return 0, err
	}
	return <-w, nil
}
