//go:build linux

package guestinit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// logf writes one timestamped line to the console (PID 1's stdout is
// /dev/console), prefixed "berth-init:" and with the guest uptime, which
// the boot benchmark reads.
func logf(format string, args ...any) {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts)
	msg := fmt.Sprintf(format, args...)
	fmt.Fprintf(os.Stdout, "[%5d.%06d] berth-init: %s\n", ts.Sec, ts.Nsec/1000, msg)
}

// uptime is the guest's time since boot, for the milestone lines.
func uptime() string {
	return fmt.Sprintf("%.3fs", sinceBoot().Seconds())
}

// sinceBoot is CLOCK_BOOTTIME: the time since the kernel started.
func sinceBoot() time.Duration {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts)
	return time.Duration(ts.Nano())
}

// leaveInitramfs makes the root a bind mount of itself, moved over "/",
// so the root is no longer the initial rootfs (pivot_root refuses that)
// without copying anything.
func leaveInitramfs() error {
	const nr = "/.berth-root"
	if err := os.MkdirAll(nr, 0o755); err != nil {
		return err
	}
	if err := unix.Mount("/", nr, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind / on %s: %w", nr, err)
	}
	if err := unix.Chdir(nr); err != nil {
		return err
	}
	if err := unix.Mount(".", "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move the root: %w", err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot: %w", err)
	}
	return unix.Chdir("/")
}

// mountBase mounts the kernel filesystems the engine needs, each only
// when nothing is mounted there yet.
func mountBase() error {
	type m struct {
		src, dst, fstype, data string
		flags                  uintptr
	}
	const nse = unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV
	for _, x := range []m{
		{"proc", "/proc", "proc", "", nse},
		{"sysfs", "/sys", "sysfs", "", nse},
		{"devtmpfs", "/dev", "devtmpfs", "mode=0755", unix.MS_NOSUID},
		{"devpts", "/dev/pts", "devpts", "newinstance,ptmxmode=0666,mode=0620,gid=5", unix.MS_NOSUID | unix.MS_NOEXEC},
		{"shm", "/dev/shm", "tmpfs", "mode=1777", nse},
		{"tmpfs", "/run", "tmpfs", "mode=0755", unix.MS_NOSUID | unix.MS_NODEV},
		{"tmpfs", "/tmp", "tmpfs", "mode=1777", unix.MS_NOSUID | unix.MS_NODEV},
		{"cgroup2", "/sys/fs/cgroup", "cgroup2", "nsdelegate", nse},
	} {
		if err := os.MkdirAll(x.dst, 0o755); err != nil {
			return err
		}
		if err := unix.Mount(x.src, x.dst, x.fstype, x.flags, x.data); err != nil && !errors.Is(err, unix.EBUSY) {
			return fmt.Errorf("mount %s on %s: %w", x.fstype, x.dst, err)
		}
	}
	_ = os.Symlink("pts/ptmx", "/dev/ptmx")
	_ = os.Symlink("/proc/self/fd", "/dev/fd")
	// Give containers every controller (the root cgroup may hold processes).
	b, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers")
	if err == nil {
		var ctl []string
		for _, c := range strings.Fields(string(b)) {
			ctl = append(ctl, "+"+c)
		}
		_ = os.WriteFile("/sys/fs/cgroup/cgroup.subtree_control", []byte(strings.Join(ctl, " ")), 0)
	}
	return nil
}

// setClock sets the realtime clock to t (the host's time at boot).
func setClock(t time.Time) error {
	tv := unix.NsecToTimeval(t.UnixNano())
	return unix.Settimeofday(&tv)
}

// seedEntropy credits seed to the kernel's entropy pool (RNDADDENTROPY).
func seedEntropy(seed []byte) error {
	if len(seed) == 0 {
		return nil
	}
	f, err := os.OpenFile("/dev/urandom", os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	// struct rand_pool_info { int entropy_count; int buf_size; __u32 buf[]; }
	buf := make([]byte, 8+len(seed))
	*(*int32)(unsafe.Pointer(&buf[0])) = int32(len(seed) * 8)
	*(*int32)(unsafe.Pointer(&buf[4])) = int32(len(seed))
	copy(buf[8:], seed)
	const rndAddEntropy = 0x40085203
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, f.Fd(), rndAddEntropy, uintptr(unsafe.Pointer(&buf[0]))); e != 0 {
		return fmt.Errorf("RNDADDENTROPY: %w", e)
	}
	return nil
}

// setHostname sets the kernel hostname and /etc/hostname.
func setHostname(name string) error {
	if err := unix.Sethostname([]byte(name)); err != nil {
		return err
	}
	return os.WriteFile("/etc/hostname", []byte(name+"\n"), 0o644)
}

// mountShares mounts the folder shares at their host paths.
func mountShares(shares []Share) error {
	var errs []error
	for _, s := range shares {
		if err := os.MkdirAll(s.Path, 0o755); err != nil {
			errs = append(errs, err)
			continue
		}
		data := ""
		if s.Type == "9p" {
			data = "trans=virtio,version=9p2000.L,msize=1048576,cache=mmap"
		}
		if err := unix.Mount(s.Tag, s.Path, s.Type, 0, data); err != nil {
			errs = append(errs, fmt.Errorf("mount %s share %q on %s: %w", s.Type, s.Tag, s.Path, err))
		}
	}
	return errors.Join(errs...)
}

// writeResolvConf writes /etc/resolv.conf for the engine (containers get
// theirs from it).
func writeResolvConf(dns []string) error {
	if len(dns) == 0 {
		return nil
	}
	var b strings.Builder
	for _, d := range dns {
		b.WriteString("nameserver " + d + "\n")
	}
	if err := os.MkdirAll(filepath.Dir("/etc/resolv.conf"), 0o755); err != nil {
		return err
	}
	return os.WriteFile("/etc/resolv.conf", []byte(b.String()), 0o644)
}
