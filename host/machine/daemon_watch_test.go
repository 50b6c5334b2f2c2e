package machine

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/fsnotify/fsnotify"
	ctypes "github.com/moby/moby/api/types/container"

	"github.com/berth-dev/berth/host/share"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

func TestHostPathOf(t *testing.T) {
	linux := []share.Share{{HostPath: "/home/u", VMPath: "/home/u"}, {HostPath: "/tmp", VMPath: "/tmp"},
		{HostPath: "/home/u/proj", VMPath: "/p"}}
	win := []share.Share{{HostPath: share.AllDrives, VMPath: share.WindowsDrivesRoot}}
	tests := []struct {
		name   string
		goos   string
		shares []share.Share
		vm     string
		want   string
		ok     bool
	}{
		{"same path", "linux", linux, "/home/u/src/app", "/home/u/src/app", true},
		{"share itself", "linux", linux, "/tmp", "/tmp", true},
		{"longest share wins", "linux", linux, "/p/x", "/home/u/proj/x", true},
		{"prefix is not a parent", "linux", linux, "/tmpfoo/x", "", false},
		{"VM's own path", "linux", linux, "/var/lib/berth/volumes/v", "", false},
		{"unclean", "linux", linux, "/home/u/a/../b", "/home/u/b", true},
		{"windows drive", "windows", win, "/mnt/host/c/src/app", `C:\src\app`, true},
		{"windows drive root", "windows", win, "/mnt/host/d", `D:\`, true},
		{"windows not a drive", "windows", win, "/mnt/host/cc/x", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := hostPathOf(tt.goos, tt.shares, tt.vm)
			if got != tt.want || ok != tt.ok {
				t.Errorf("hostPathOf(%q) = %q, %v; want %q, %v", tt.vm, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestChangeOp(t *testing.T) {
	tests := []struct {
		c      change
		exists bool
		want   string
	}{
		{change{write: true}, true, "write"},
		{change{chmod: true}, true, "chmod"},
		{change{write: true, chmod: true}, true, "write"},
		{change{create: true, write: true}, true, "create"},
		{change{removed: true}, true, "create"}, // removed and made again
		{change{renamed: true}, false, "rename"},
		{change{removed: true}, false, "remove"},
		{change{create: true}, false, "remove"}, // made and gone within the batch
		{change{write: true}, false, "remove"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%+v/%v", tt.c, tt.exists), func(t *testing.T) {
			if got := tt.c.op(tt.exists); got != tt.want {
				t.Errorf("op = %q, want %q", got, tt.want)
			}
		})
	}
}

// fakeWatchSource is an agent with containers and their bind sources.
type fakeWatchSource struct {
	mu      sync.Mutex
	binds   map[string][]string // running containers
	actions chan [2]string
	sent    chan []*agentv1.FileEvent
	old     bool // answer NotImplemented, as an older agent does
	calls   int  // NotImplemented answers given
}

func newFakeWatchSource() *fakeWatchSource {
	return &fakeWatchSource{binds: map[string][]string{}, actions: make(chan [2]string, 8), sent: make(chan []*agentv1.FileEvent, 64)}
}

func (f *fakeWatchSource) Running(context.Context) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for id := range f.binds {
		ids = append(ids, id)
	}
	return ids, nil
}

func (f *fakeWatchSource) Events(ctx context.Context, ready func(), fn func(id, action string)) error {
	ready()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case a := <-f.actions:
			fn(a[0], a[1])
		}
	}
}

func (f *fakeWatchSource) BindSources(_ context.Context, id string) (bool, []string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.binds[id]
	if !ok {
		return false, nil, errdefs.ErrNotFound
	}
	return true, b, nil
}

func (f *fakeWatchSource) NotifyFileEvents(_ context.Context, evs []*agentv1.FileEvent) error {
	f.mu.Lock()
	old := f.old
	f.mu.Unlock()
	if old {
		f.calls++
		return fmt.Errorf("System.NotifyFileEvents is not implemented in this agent: %w", errdefs.ErrNotImplemented)
	}
	f.sent <- evs
	return nil
}

func (f *fakeWatchSource) set(id string, binds []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if binds == nil {
		delete(f.binds, id)
	} else {
		f.binds[id] = binds
	}
}

// newTestWatcher watches a temp dir shared at /vm; it is not running.
func newTestWatcher(t *testing.T, src watchSource) (*fileWatcher, string) {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fw, err := newFileWatcher(src, []share.Share{{HostPath: dir, VMPath: "/vm"}}, runtime.GOOS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fw.w.Close() })
	return fw, dir
}

func events(evs ...string) []*agentv1.FileEvent {
	var out []*agentv1.FileEvent
	for i := 0; i < len(evs); i += 2 {
		out = append(out, &agentv1.FileEvent{Op: evs[i], Path: evs[i+1]})
	}
	return out
}

func sameEvents(a, b []*agentv1.FileEvent) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Op != b[i].Op || a[i].Path != b[i].Path {
			return false
		}
	}
	return true
}

func fmtEvents(evs []*agentv1.FileEvent) string {
	s := ""
	for _, e := range evs {
		s += e.Op + " " + e.Path + "; "
	}
	return s
}

// TestFileWatcherBatch feeds events to one batch by hand: the ops come
// from the paths' states at the end, mapped to the VM, in first-change
// order, without echoes and without paths outside the roots.
func TestFileWatcherBatch(t *testing.T) {
	fw, dir := newTestWatcher(t, newFakeWatchSource())
	proj := filepath.Join(dir, "proj")
	for _, d := range []string{proj, filepath.Join(dir, "other")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, b, conf := write("proj/a", "1"), write("proj/b", "1"), write("other/conf", "1")
	sibling := write("other/sibling", "1")
	fw.containers = map[string][]watchRoot{"c1": fw.rootsOf([]string{"/vm/proj", "/vm/other/conf"})}
	fw.applyRoots(context.Background())
	ctx := context.Background()
	feed := func(op fsnotify.Op, p string) { fw.handle(ctx, fsnotify.Event{Name: p, Op: op}) }

	feed(fsnotify.Create, a)
	feed(fsnotify.Write, a)
	feed(fsnotify.Write, b)
	feed(fsnotify.Write, b) // same state: merged
	feed(fsnotify.Chmod, conf)
	feed(fsnotify.Write, sibling) // not bind-mounted
	if err := os.Remove(b); err != nil {
		t.Fatal(err)
	}
	feed(fsnotify.Remove, b)
	want := events("create", "/vm/proj/a", "remove", "/vm/proj/b", "chmod", "/vm/other/conf")
	if got := fw.collect(); !sameEvents(got, want) {
		t.Errorf("batch = %s\nwant %s", fmtEvents(got), fmtEvents(want))
	}

	// The agent's replay comes back as a write that changes nothing (and a
	// touch of a removed file's directory): dropped.
	feed(fsnotify.Write, a)
	feed(fsnotify.Chmod, conf)
	feed(fsnotify.Write, proj)
	if got := fw.collect(); len(got) != 0 {
		t.Errorf("echoes were batched: %s", fmtEvents(got))
	}
	// A real change after them is not.
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(a, later, later); err != nil {
		t.Fatal(err)
	}
	feed(fsnotify.Write, a)
	if got, want := fw.collect(), events("write", "/vm/proj/a"); !sameEvents(got, want) {
		t.Errorf("batch = %s, want %s", fmtEvents(got), fmtEvents(want))
	}
}

// TestFileWatcherRun runs the watcher on real fsnotify: roots follow the
// containers, changes arrive in batches, a new directory is watched, the
// echo of a replay is not sent back, and a stopped container's folder is
// no longer watched.
func TestFileWatcherRun(t *testing.T) {
	src := newFakeWatchSource()
	fw, dir := newTestWatcher(t, src)
	proj := filepath.Join(dir, "proj")
	if err := os.Mkdir(proj, 0o755); err != nil {
		t.Fatal(err)
	}
	src.set("c1", []string{"/vm/proj"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		fw.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	waitUntil(t, "the folder is watched", func() bool { return fw.watching(proj) })

	next := func(want ...string) {
		t.Helper()
		select {
		case got := <-src.sent:
			if !sameEvents(got, events(want...)) {
				t.Fatalf("sent %s, want %s", fmtEvents(got), fmtEvents(events(want...)))
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("nothing sent, want %s", fmtEvents(events(want...)))
		}
	}
	a := filepath.Join(proj, "a.txt")
	if err := os.WriteFile(a, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	next("create", "/vm/proj/a.txt")

	// What the agent does to replay it reaches the host: the same mtime
	// set again. Then a real change, which alone is sent.
	fi, err := os.Stat(a)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(a, time.Time{}, fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(proj, "sub", "deep")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	next("create", "/vm/proj/sub", "create", "/vm/proj/sub/deep")
	waitUntil(t, "the new folder is watched", func() bool { return fw.watching(sub) })
	if err := os.WriteFile(filepath.Join(sub, "x"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	next("create", "/vm/proj/sub/deep/x")

	src.set("c1", nil)
	src.actions <- [2]string{"c1", "die"}
	waitUntil(t, "the folder is no longer watched", func() bool { return !fw.watching(proj) && !fw.watching(sub) })
}

func (fw *fileWatcher) watching(dir string) bool {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	return fw.dirs[dir] > 0
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestBindSources(t *testing.T) {
	var doc ctypes.InspectResponse
	err := json.Unmarshal([]byte(`{"State":{"Running":true},"Mounts":[
		{"Type":"bind","Source":"/home/u/src","Destination":"/w"},
		{"Type":"volume","Source":"/var/lib/berth/volumes/v/_data","Destination":"/data"},
		{"Type":"bind","Source":"/tmp/conf.yml","Destination":"/etc/app.yml"}]}`), &doc)
	if err != nil {
		t.Fatal(err)
	}
	up, src := bindSources(&doc)
	if want := []string{"/home/u/src", "/tmp/conf.yml"}; !up || !reflect.DeepEqual(src, want) {
		t.Errorf("bindSources = %v, %v; want true, %v", up, src, want)
	}
}

// TestFileWatcherBudget: a tree larger than the budget is watched in part,
// and stopping its container gives the budget back.
func TestFileWatcherBudget(t *testing.T) {
	fw, dir := newTestWatcher(t, newFakeWatchSource())
	fw.budget = 3
	for _, d := range []string{"a/b/c/d", "a/e"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	fw.containers = map[string][]watchRoot{"c1": fw.rootsOf([]string{"/vm/a"})}
	fw.applyRoots(context.Background())
	if len(fw.dirs) != 3 || fw.used != 3 || !fw.full || fw.dirs[filepath.Join(dir, "a")] == 0 {
		t.Errorf("watching %v (used %d, full %v), want 3 folders starting with the root", fw.dirs, fw.used, fw.full)
	}
	fw.containers = map[string][]watchRoot{}
	fw.applyRoots(context.Background())
	if len(fw.dirs) != 0 || fw.used != 0 {
		t.Errorf("after the container stopped: watching %v (used %d), want nothing", fw.dirs, fw.used)
	}
}

func TestDirCost(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"x", "y", "z"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for goos, want := range map[string]int{"linux": 1, "windows": 1, "darwin": 4, "freebsd": 4} {
		if got := dirCost(goos, dir); got != want {
			t.Errorf("dirCost(%s) = %d, want %d", goos, got, want)
		}
	}
}

// TestFileWatcherOldAgent: an agent without NotifyFileEvents is asked once,
// not for every batch, until the agent is subscribed to again.
func TestFileWatcherOldAgent(t *testing.T) {
	src := newFakeWatchSource()
	src.old = true
	src.set("c1", []string{"/vm"})
	fw, dir := newTestWatcher(t, src)
	fw.reconcile(context.Background())
	p := filepath.Join(dir, "x")
	for i := 0; i < 3; i++ {
		if err := os.WriteFile(p, []byte(fmt.Sprint(i)), 0o644); err != nil {
			t.Fatal(err)
		}
		fw.handle(context.Background(), fsnotify.Event{Name: p, Op: fsnotify.Create})
		fw.flush(context.Background())
	}
	if src.calls != 1 {
		t.Errorf("an old agent was asked %d times, want once", src.calls)
	}
	fw.reconcile(context.Background())
	fw.handle(context.Background(), fsnotify.Event{Name: p, Op: fsnotify.Create})
	fw.flush(context.Background())
	if src.calls != 2 {
		t.Errorf("after subscribing again the agent was asked %d times in all, want 2", src.calls)
	}
}
