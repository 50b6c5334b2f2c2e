//go:build linux

package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
)

// newNetns creates a network namespace bind-mounted at path. The namespace
// lives as long as the bind mount (and any process in it).
func newNetns(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	if isMountpoint(path) {
		return nil // kept from an earlier run
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o400)
	if err != nil {
		return fmt.Errorf("create netns file: %w", err)
	}
	f.Close()
	errc := make(chan error, 1)
	go func() {
		// The thread enters the new namespace and goes back to its own
		// before it is unlocked. It must not simply end with this
		// goroutine: when it is the main thread the Go runtime cannot end
		// it and parks it in the new namespace for good, and /proc/self
		// (the thread group leader: /proc/self/ns/net, /proc/net/tcp) then
		// names that container's namespace instead of the agent's.
		runtime.LockOSThread()
		tid := unix.Gettid()
		orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", tid))
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("open network namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("unshare network namespace: %w", err)
			return
		}
		src := fmt.Sprintf("/proc/self/task/%d/ns/net", tid)
		merr := unix.Mount(src, path, "", unix.MS_BIND, "")
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("leave the new network namespace: %w", err) // the thread stays locked
			return
		}
		runtime.UnlockOSThread()
		if merr != nil {
			merr = fmt.Errorf("bind network namespace: %w", merr)
		}
		errc <- merr
	}()
	if err := <-errc; err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

// removeNetns unmounts and removes the namespace file at path; a missing one
// is not an error.
func removeNetns(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount network namespace: %w", err)
	}
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

// isMountpoint reports whether path is a mount point (a bound namespace
// file is one: its device differs from its directory's, or it is nsfs).
func isMountpoint(path string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return false
	}
	return st.Type == unix.NSFS_MAGIC
}
