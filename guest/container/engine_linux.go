package container

import (
	"fmt"
	"os"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// envEngineNamespace marks a process that PrepareHost already moved into
// the engine's mount namespace.
const envEngineNamespace = "BERTH_ENGINE_MOUNTNS"

// PrepareHost makes this process fit to run containers with crun; call it
// first thing in main. On a host with hybrid cgroups (v1 controllers plus
// a cgroup2 mount, which crun 1.8 refuses) it re-executes the program
// (same pid and arguments) in a new mount namespace that is a slave of the
// host's, with the cgroup2 mount hidden: mounts made on the host still
// appear in it, and every shim and crun started later inherits it. It
// returns nil without doing anything on pure cgroup v1 or v2 hosts or when
// already done, and returns only on error otherwise.
func PrepareHost() error {
	if os.Getenv(envEngineNamespace) == "1" || os.Geteuid() != 0 || !HybridCgroups() {
		return nil
	}
	// unshare(CLONE_NEWNS) affects the calling thread only; exec from that
	// thread makes the whole new program live in the new namespace.
	runtime.LockOSThread()
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("hybrid cgroups: new mount namespace: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return fmt.Errorf("hybrid cgroups: make mounts slave: %w", err)
	}
	_, v2, err := cgroupMounts()
	if err != nil {
		return err
	}
	for _, m := range v2 {
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil {
			return fmt.Errorf("hybrid cgroups: hide %s: %w", m, err)
		}
	}
	env := append(os.Environ(), envEngineNamespace+"=1")
	if err := syscall.Exec("/proc/self/exe", os.Args, env); err != nil {
		return fmt.Errorf("hybrid cgroups: re-exec in the engine namespace: %w", err)
	}
	return nil
}
