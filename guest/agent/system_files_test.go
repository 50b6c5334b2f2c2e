//go:build linux

package agent

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unsafe"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// inotifyEvent is one event read from an inotify descriptor.
type inotifyEvent struct {
	wd   int32
	mask uint32
	name string
}

// watcher is an inotify instance watching a directory.
type watcher struct {
	fd    int
	dirWD int32
}

func newWatcher(t *testing.T, dir string) *watcher {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		t.Fatalf("inotify_init1: %v", err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	wd, err := unix.InotifyAddWatch(fd, dir, unix.IN_ALL_EVENTS)
	if err != nil {
		t.Fatalf("inotify_add_watch %s: %v", dir, err)
	}
	return &watcher{fd: fd, dirWD: int32(wd)}
}

// drain returns the events queued now, waiting up to a second for the
// first one (events are queued synchronously by the operation itself).
func (w *watcher) drain(t *testing.T) []inotifyEvent {
	t.Helper()
	var out []inotifyEvent
	buf := make([]byte, 64<<10)
	wait := 1000
	for {
		pfd := []unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}}
		n, err := unix.Poll(pfd, wait)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		if n == 0 {
			return out
		}
		m, err := unix.Read(w.fd, buf)
		if err != nil {
			t.Fatalf("read inotify: %v", err)
		}
		for off := 0; off+unix.SizeofInotifyEvent <= m; {
			raw := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(raw.Len)]
			out = append(out, inotifyEvent{wd: raw.Wd, mask: raw.Mask, name: string(bytes.TrimRight(name, "\x00"))})
			off += unix.SizeofInotifyEvent + int(raw.Len)
		}
		wait = 0
	}
}

func has(evs []inotifyEvent, mask uint32, name string) bool {
	for _, e := range evs {
		if e.mask&mask != 0 && e.name == name {
			return true
		}
	}
	return false
}

func TestNotifyFileEventsRaisesInotify(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(sub, "f.txt")
	if err := os.WriteFile(file, []byte("content"), 0o640); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2020, 1, 2, 3, 4, 5, 6000, time.UTC)
	if err := os.Chtimes(file, old, old); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("f.txt", filepath.Join(sub, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(sub, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A FIFO nobody reads: opening it for writing would block.
	if err := unix.Mkfifo(filepath.Join(sub, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		ev       *agentv1.FileEvent
		mask     uint32
		evName   string // "" is an event on the watched dir itself
		noEvents bool
	}{
		{"write", &agentv1.FileEvent{Path: file, Op: "write"}, unix.IN_MODIFY, "f.txt", false},
		{"write closes after writing", &agentv1.FileEvent{Path: file, Op: "write"}, unix.IN_CLOSE_WRITE, "f.txt", false},
		{"create", &agentv1.FileEvent{Path: file, Op: "create"}, unix.IN_MODIFY, "f.txt", false},
		{"create of a directory", &agentv1.FileEvent{Path: filepath.Join(sub, "dir"), Op: "create"}, unix.IN_MODIFY, "dir", false},
		{"write of a fifo", &agentv1.FileEvent{Path: filepath.Join(sub, "fifo"), Op: "write"}, unix.IN_MODIFY, "fifo", false},
		{"chmod", &agentv1.FileEvent{Path: file, Op: "chmod"}, unix.IN_ATTRIB, "f.txt", false},
		{"chmod of a symlink", &agentv1.FileEvent{Path: filepath.Join(sub, "link"), Op: "chmod"}, unix.IN_MODIFY, "link", false},
		{"remove", &agentv1.FileEvent{Path: filepath.Join(sub, "gone"), Op: "remove"}, unix.IN_MODIFY, "", false},
		{"rename", &agentv1.FileEvent{Path: filepath.Join(sub, "old-name"), Op: "rename"}, unix.IN_MODIFY, "", false},
		{"write of a missing file", &agentv1.FileEvent{Path: filepath.Join(sub, "missing"), Op: "write"}, 0, "", true},
	}
	y := &systemService{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWatcher(t, sub)
			if _, err := y.NotifyFileEvents(context.Background(), &agentv1.FileEventsRequest{Events: []*agentv1.FileEvent{tt.ev}}); err != nil {
				t.Fatalf("NotifyFileEvents: %v", err)
			}
			evs := w.drain(t)
			if tt.noEvents {
				if len(evs) != 0 {
					t.Errorf("events %+v, want none", evs)
				}
				return
			}
			if !has(evs, tt.mask, tt.evName) {
				t.Errorf("events %+v, want mask %#x on %q", evs, tt.mask, tt.evName)
			}
		})
	}
	// None of it changed the file.
	b, err := os.ReadFile(file)
	if err != nil || string(b) != "content" {
		t.Errorf("content = %q, %v; want it unchanged", b, err)
	}
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.ModTime().Equal(old) || fi.Mode().Perm() != 0o640 {
		t.Errorf("mtime %v mode %v, want %v and -rw-r-----", fi.ModTime(), fi.Mode(), old)
	}
}

func TestNotifyFileEventsBadRequests(t *testing.T) {
	y := &systemService{}
	tests := []struct {
		name string
		evs  []*agentv1.FileEvent
	}{
		{"relative path", []*agentv1.FileEvent{{Path: "a/b", Op: "write"}}},
		{"unclean path", []*agentv1.FileEvent{{Path: "/a/../b", Op: "write"}}},
		{"root", []*agentv1.FileEvent{{Path: "/", Op: "write"}}},
		{"unknown op", []*agentv1.FileEvent{{Path: "/tmp", Op: "explode"}}},
		{"nil event", []*agentv1.FileEvent{nil}},
		{"too many", make([]*agentv1.FileEvent, maxFileEvents+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := y.NotifyFileEvents(context.Background(), &agentv1.FileEventsRequest{Events: tt.evs})
			if !errdefs.IsInvalidArgument(err) {
				t.Errorf("err = %v, want invalid argument", err)
			}
		})
	}
}
