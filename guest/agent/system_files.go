//go:build linux

package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/types/known/emptypb"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// Shared filesystems (virtiofs, 9p) do not tell the guest about changes
// the host makes: inotify is raised by the guest kernel's own VFS
// operations only. NotifyFileEvents therefore performs, for each host
// change, an operation in the guest that leaves the file as it is but
// makes the guest's VFS raise an event on it. Inotify marks belong to
// inodes, so watchers in containers that bind-mount the folder see the
// event as well.
//
//   - write, create: open(O_WRONLY) without writing, then
//     utimensat(path, {UTIME_OMIT, <current mtime>}), then close: a writer's
//     IN_OPEN, IN_MODIFY, IN_CLOSE_WRITE, on the file and, with its name, on
//     its directory's watchers. A change of the mtime alone raises IN_MODIFY
//     (fsnotify_change); the mtime is read with AT_STATX_FORCE_SYNC (fresh
//     from the host, not the guest's attribute cache) and written back
//     unchanged; only the ctime moves. Race: if the host changes the file
//     again between that read and the write (one round trip to the host),
//     its mtime goes back to the previous value; the content is never
//     touched. The host's second change is replayed in turn. Only regular
//     files are opened (never a FIFO or a device); a file that cannot be
//     opened for writing still gets IN_MODIFY.
//   - chmod: fchmodat to the current mode raises IN_ATTRIB (same race, for
//     the mode). Symbolic links get the mtime touch instead.
//   - remove, rename (the old name): the name is gone on the host; the
//     parent directory gets the mtime touch, which raises IN_MODIFY on the
//     directory, so that watchers rescan it. (A guest dentry of the removed
//     name may stay cached until the share's entry timeout.)
//
// The operations do reach the host through the shared filesystem (a
// setattr of the same mtime or mode): the machine daemon recognises those
// echoes by the file's unchanged state and does not send them back.

// maxFileEvents bounds one NotifyFileEvents request.
const maxFileEvents = 10000

// fileEventOps are the ops NotifyFileEvents knows.
var fileEventOps = map[string]bool{"create": true, "write": true, "remove": true, "rename": true, "chmod": true}

// NotifyFileEvents replays host changes in shared folders so that inotify
// watchers in the VM see them. Paths that no longer exist are skipped (a
// later event describes what happened to them).
func (y *systemService) NotifyFileEvents(ctx context.Context, req *agentv1.FileEventsRequest) (*emptypb.Empty, error) {
	if len(req.Events) > maxFileEvents {
		return nil, fmt.Errorf("%d file events in one request, at most %d: %w", len(req.Events), maxFileEvents, errdefs.ErrInvalidArgument)
	}
	for _, ev := range req.Events {
		if err := checkFileEvent(ev); err != nil {
			return nil, err
		}
	}
	var failed int
	for _, ev := range req.Events {
		if err := replayFileEvent(ev.Path, ev.Op); err != nil && !errors.Is(err, fs.ErrNotExist) {
			failed++
			log.G(ctx).WithError(err).WithField("path", ev.Path).Debugf("replaying host %s", ev.Op)
		}
	}
	if failed > 0 {
		log.G(ctx).Debugf("%d of %d host file events could not be replayed", failed, len(req.Events))
	}
	return &emptypb.Empty{}, nil
}

// checkFileEvent validates one event.
func checkFileEvent(ev *agentv1.FileEvent) error {
	if ev == nil {
		return fmt.Errorf("empty file event: %w", errdefs.ErrInvalidArgument)
	}
	if !fileEventOps[ev.Op] {
		return fmt.Errorf("file event %q on %q: op must be create, write, remove, rename or chmod: %w", ev.Op, ev.Path, errdefs.ErrInvalidArgument)
	}
	if !filepath.IsAbs(ev.Path) || filepath.Clean(ev.Path) != ev.Path || ev.Path == "/" {
		return fmt.Errorf("file event path %q: must be an absolute, clean path below /: %w", ev.Path, errdefs.ErrInvalidArgument)
	}
	return nil
}

// replayFileEvent raises the inotify event for one host change.
func replayFileEvent(path, op string) error {
	switch op {
	case "chmod":
		return touchMode(path)
	case "remove", "rename":
		forgetPath(path)
		return touchMtime(filepath.Dir(path))
	default: // create, write
		return touchWritten(path)
	}
}

// touchWritten raises what a writer raises (IN_OPEN, IN_MODIFY,
// IN_CLOSE_WRITE) on a regular file without writing to it, and IN_MODIFY
// on anything else.
func touchWritten(path string) error {
	st, err := freshStat(path, unix.STATX_TYPE)
	if err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFREG {
		fd, err := unix.Open(path, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_NOFOLLOW|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
		if err == nil {
			defer unix.Close(fd) // IN_CLOSE_WRITE after the IN_MODIFY
		}
	}
	return touchMtime(path)
}

// freshStat reads path's attributes from the file system itself rather
// than the guest's attribute cache, without following a final symlink.
func freshStat(path string, mask int) (unix.Statx_t, error) {
	var st unix.Statx_t
	err := unix.Statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW|unix.AT_STATX_FORCE_SYNC, mask, &st)
	if err != nil {
		return st, &fs.PathError{Op: "statx", Path: path, Err: err}
	}
	return st, nil
}

// touchMtime sets path's mtime to its current value (atime omitted), which
// raises IN_MODIFY and changes nothing but the ctime.
func touchMtime(path string) error {
	st, err := freshStat(path, unix.STATX_MTIME)
	if err != nil {
		return err
	}
	ts := []unix.Timespec{{Nsec: unix.UTIME_OMIT}, {Sec: st.Mtime.Sec, Nsec: int64(st.Mtime.Nsec)}}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, path, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &fs.PathError{Op: "utimensat", Path: path, Err: err}
	}
	return nil
}

// touchMode sets path's mode to its current value, which raises IN_ATTRIB.
func touchMode(path string) error {
	st, err := freshStat(path, unix.STATX_MODE|unix.STATX_MTIME)
	if err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return touchMtime(path) // a link's own mode cannot be set
	}
	if err := unix.Fchmodat(unix.AT_FDCWD, path, uint32(st.Mode)&0o7777, 0); err != nil {
		return &fs.PathError{Op: "chmod", Path: path, Err: err}
	}
	return nil
}

// forgetPath looks path up afresh, so that a removed name the guest still
// caches is dropped as soon as the file system allows.
func forgetPath(path string) {
	_, _ = freshStat(path, unix.STATX_TYPE)
}
