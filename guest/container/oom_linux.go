package container

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// watchOOM sets flag when the kernel OOM-kills a process in the cgroup.
// The cgroup is removed by crun when the container exits, so the counter
// is watched while it runs: cgroup v2 memory.events notifies pollers on
// change; cgroup v1 signals an eventfd registered on memory.oom_control.
// The watcher ends when the cgroup goes away.
func watchOOM(cgPath string, flag *atomic.Bool) {
	if cgroupV2() {
		f, err := os.Open(cgroupFile(true, "", cgPath, "memory.events"))
		if err != nil {
			return
		}
		go watchOOMv2(f, flag)
		return
	}
	ctl := cgroupFile(false, "memory", cgPath, "memory.oom_control")
	oc, err := os.Open(ctl)
	if err != nil {
		return
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		oc.Close()
		return
	}
	reg := fmt.Sprintf("%d %d", efd, oc.Fd())
	if err := os.WriteFile(cgroupFile(false, "memory", cgPath, "cgroup.event_control"), []byte(reg), 0); err != nil {
		oc.Close()
		unix.Close(efd)
		return
	}
	go func() {
		defer oc.Close()
		defer unix.Close(efd)
		buf := make([]byte, 8)
		for {
			if _, err := unix.Read(efd, buf); err != nil {
				return
			}
			// The eventfd fires on an OOM and on the cgroup's removal.
			if _, err := os.Stat(ctl); err != nil {
				return
			}
			flag.Store(true)
		}
	}()
}

func watchOOMv2(f *os.File, flag *atomic.Bool) {
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		n, err := unix.Pread(int(f.Fd()), buf, 0)
		if err != nil {
			return
		}
		for _, line := range strings.Split(string(buf[:n]), "\n") {
			if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
				if c, _ := strconv.Atoi(strings.TrimSpace(v)); c > 0 {
					flag.Store(true)
				}
			}
		}
		fds := []unix.PollFd{{Fd: int32(f.Fd()), Events: unix.POLLPRI}}
		if _, err := unix.Poll(fds, -1); err != nil && err != unix.EINTR {
			return
		}
		if fds[0].Revents&(unix.POLLERR|unix.POLLNVAL) != 0 && fds[0].Revents&unix.POLLPRI == 0 {
			return
		}
	}
}
