//go:build linux

package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/guest/internal/testenv"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// TestTrimDir trims a real ext4 file system on a loop device backed by a
// sparse file, as the VM's data disk is on the host: after a file is
// deleted, the trim gives its blocks back and the backing file shrinks.
func TestTrimDir(t *testing.T) {
	testenv.RequiresRoot(t)
	testenv.RequiresBinary(t, "mkfs.ext4")
	dir := t.TempDir()
	img, mnt := filepath.Join(dir, "disk.img"), filepath.Join(dir, "mnt")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 64<<20); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", "-E", "nodiscard", img).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v: %s", err, out)
	}
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-o", "loop", img, mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a loop device here (%v: %s)", err, out)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(mnt, 0); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
		}
	})
	big := make([]byte, 20<<20)
	for i := range big {
		big[i] = byte(i*7 + i>>9) // not zeros: loop keeps zeros allocated anyway
	}
	if err := os.WriteFile(filepath.Join(mnt, "big"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	unix.Sync()
	before := allocated(t, img)
	if err := os.Remove(filepath.Join(mnt, "big")); err != nil {
		t.Fatal(err)
	}
	unix.Sync()
	n, err := trimDir(mnt)
	if err != nil {
		t.Fatalf("trimDir: %v", err)
	}
	after := allocated(t, img)
	t.Logf("trimmed %d bytes; backing file %d -> %d bytes allocated", n, before, after)
	if n < 15<<20 {
		t.Errorf("trimmed %d bytes, want at least the 15 MiB of the deleted file", n)
	}
	if before-after < 15<<20 {
		t.Errorf("backing file went from %d to %d bytes allocated, want a shrink of at least 15 MiB", before, after)
	}
}

// allocated is the space a file's blocks take (stat's st_blocks).
func allocated(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Blocks * 512
}

// TestTrimUnsupported trims a file system without discard (/proc): a clear
// not-implemented error.
func TestTrimUnsupported(t *testing.T) {
	testenv.RequiresRoot(t)
	_, err := trimDir("/proc")
	if !errdefs.IsNotImplemented(err) {
		t.Fatalf("trim /proc: err = %v, want not implemented", err)
	}
	if _, err := trimDir(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("trim a missing dir: err = %v, want not exist", err)
	}
}

func TestFreesSpace(t *testing.T) {
	for _, tc := range []struct {
		typ, action string
		want        bool
	}{
		{"image", "delete", true},
		{"image", "prune", true},
		{"image", "untag", false},
		{"image", "pull", false},
		{"container", "destroy", true},
		{"container", "die", false},
		{"volume", "destroy", true},
		{"network", "destroy", false},
	} {
		t.Run(tc.typ+"/"+tc.action, func(t *testing.T) {
			if got := freesSpace(&agentv1.Event{Type: tc.typ, Action: tc.action}); got != tc.want {
				t.Errorf("freesSpace = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestTrimmer checks when the automatic trim runs: once after a burst of
// deletions, never for other events, and on its interval.
func TestTrimmer(t *testing.T) {
	for _, tc := range []struct {
		name               string
		debounce, interval time.Duration
		events             []string // type/action
	}{
		{"burst of deletions trims once", 300 * time.Millisecond, time.Hour,
			[]string{"image/pull", "image/delete", "image/delete", "container/destroy", "image/delete", "image/untag"}},
		{"interval", time.Hour, 200 * time.Millisecond, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bus := newEventBus()
			var calls atomic.Int32
			done := make(chan struct{}, 16)
			tr := &trimmer{
				events:   bus,
				trim:     func() (uint64, error) { calls.Add(1); return 1, nil },
				debounce: tc.debounce,
				interval: tc.interval,
				done:     func(uint64, error) { done <- struct{}{} },
			}
			ctx, cancel := context.WithCancel(context.Background())
			stopped := make(chan struct{})
			go func() { tr.run(ctx); close(stopped) }()
			defer func() { cancel(); <-stopped }()
			waitSubscribed(t, bus)
			for _, ev := range tc.events {
				typ, action, _ := strings.Cut(ev, "/")
				bus.publish(typ, action, "x", nil)
			}
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("no trim")
			}
			if tc.interval == time.Hour {
				// Three debounce periods more: a second trim would be one
				// per deletion instead of one per burst.
				time.Sleep(3 * tc.debounce)
				if n := calls.Load(); n != 1 {
					t.Fatalf("%d trims after one burst of deletions, want 1", n)
				}
			}
		})
	}
}

// TestTrimmerIgnoresOtherEvents checks that events that free nothing never
// start a trim.
func TestTrimmerIgnoresOtherEvents(t *testing.T) {
	bus := newEventBus()
	var calls atomic.Int32
	tr := &trimmer{events: bus, trim: func() (uint64, error) { calls.Add(1); return 0, nil },
		debounce: 50 * time.Millisecond, interval: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { tr.run(ctx); close(stopped) }()
	waitSubscribed(t, bus)
	for _, a := range []string{"pull", "tag", "untag", "load"} {
		bus.publish("image", a, "x", nil)
	}
	time.Sleep(500 * time.Millisecond)
	cancel()
	<-stopped
	if n := calls.Load(); n != 0 {
		t.Fatalf("%d trims for events that free nothing", n)
	}
}

func waitSubscribed(t *testing.T, bus *eventBus) {
	t.Helper()
	waitFor(t, "the trimmer's subscription", func() bool {
		bus.mu.Lock()
		defer bus.mu.Unlock()
		return len(bus.subs) > 0
	})
}

// TestTrimmerStopsWhenUnsupported checks that a data dir without discard
// (no data disk: a tmpfs) turns the automatic trim off after one try.
func TestTrimmerStopsWhenUnsupported(t *testing.T) {
	bus := newEventBus()
	var calls atomic.Int32
	tr := &trimmer{events: bus, debounce: time.Hour, interval: 50 * time.Millisecond,
		trim: func() (uint64, error) {
			calls.Add(1)
			return 0, fmt.Errorf("trim: %w", errdefs.ErrNotImplemented)
		}}
	stopped := make(chan struct{})
	go func() { tr.run(context.Background()); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		t.Fatal("the trimmer kept running on a file system without discard")
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d trims, want 1", n)
	}
}
