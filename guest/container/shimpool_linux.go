package container

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// shimProc is a started shim waiting for its state dir on sock (its fd 3).
type shimProc struct {
	sock *os.File
}

// launchShim starts a shim process that waits for a state dir. It runs in
// its own session so that it outlives the agent; on a hybrid-cgroup host
// where PrepareHost was not called it gets its own mount namespace.
func (r *Runtime) launchShim() (*shimProc, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("shim socket pair: %w", err)
	}
	if err := unix.SetNonblock(fds[1], false); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, fmt.Errorf("shim socket pair: %w", err)
	}
	parent, child := os.NewFile(uintptr(fds[0]), "shim"), os.NewFile(uintptr(fds[1]), "shim")
	defer child.Close()
	args := append(append([]string{}, r.o.shim...), "-")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.ExtraFiles = []*os.File{child}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if r.hybrid {
		cmd.SysProcAttr.Unshareflags = syscall.CLONE_NEWNS
		cmd.Env = append(os.Environ(), envPrivateMounts+"=1")
	}
	if err := cmd.Start(); err != nil {
		parent.Close()
		return nil, fmt.Errorf("start shim: %w", err)
	}
	go cmd.Wait() //nolint:errcheck // reap the shim; its outcome is in exit.json
	return &shimProc{sock: parent}, nil
}

// takeShim returns a started shim: the idle one launched in advance when
// there is one (hiding the shim's start-up time), else a new one; the
// caller then calls refillLater.
func (r *Runtime) takeShim(ctx context.Context) (*shimProc, error) {
	if r.hybrid { // private mount namespaces must be made after the rootfs mount
		return r.launchShim()
	}
	r.poolMu.Lock()
	p := r.idle
	r.idle = nil
	r.poolMu.Unlock()
	if p != nil {
		return p, nil
	}
	return r.launchShim()
}

// refillLater launches the next idle shim once the container being started
// runs, so that its start-up does not compete with crun for the CPU.
func (r *Runtime) refillLater() {
	if r.hybrid {
		return
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.refill()
	}()
}

func (r *Runtime) refill() {
	if r.ctx.Err() != nil {
		return
	}
	p, err := r.launchShim()
	if err != nil {
		return
	}
	r.poolMu.Lock()
	defer r.poolMu.Unlock()
	if r.idle != nil || r.ctx.Err() != nil {
		p.sock.Close() // the shim exits on EOF
		return
	}
	r.idle = p
}

// drainPool stops the idle shim (Close).
func (r *Runtime) drainPool() {
	r.poolMu.Lock()
	defer r.poolMu.Unlock()
	if r.idle != nil {
		r.idle.sock.Close()
		r.idle = nil
	}
}
