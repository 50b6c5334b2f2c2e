package qemu

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/host/internal/testbin"
	"github.com/berth-dev/berth/internal/machineproc"
	"github.com/berth-dev/berth/internal/testimage"
)

// inotifyWatch is a tiny inotify watcher for the test image (Debian's
// busybox has no inotifyd): it prints "ready", then one line per event:
// the event names and the file name.
const inotifyWatch = `package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"syscall"
	"unsafe"
)

var names = []struct {
	m uint32
	s string
}{{syscall.IN_ACCESS, "ACCESS"}, {syscall.IN_MODIFY, "MODIFY"}, {syscall.IN_ATTRIB, "ATTRIB"},
	{syscall.IN_CLOSE_WRITE, "CLOSE_WRITE"}, {syscall.IN_OPEN, "OPEN"}, {syscall.IN_CREATE, "CREATE"},
	{syscall.IN_DELETE, "DELETE"}, {syscall.IN_MOVED_FROM, "MOVED_FROM"}, {syscall.IN_MOVED_TO, "MOVED_TO"}}

func main() {
	fd, err := syscall.InotifyInit()
	if err != nil {
		panic(err)
	}
	for _, p := range os.Args[1:] {
		if _, err := syscall.InotifyAddWatch(fd, p, syscall.IN_ALL_EVENTS); err != nil {
			panic(err)
		}
	}
	fmt.Println("ready")
	buf := make([]byte, 65536)
	for {
		n, err := syscall.Read(fd, buf)
		if err != nil {
			panic(err)
		}
		for off := 0; off+syscall.SizeofInotifyEvent <= n; {
			ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
			nm := buf[off+syscall.SizeofInotifyEvent : off+syscall.SizeofInotifyEvent+int(ev.Len)]
			var what []string
			for _, x := range names {
				if ev.Mask&x.m != 0 {
					what = append(what, x.s)
				}
			}
			fmt.Printf("%s %s\n", strings.Join(what, ","), bytes.TrimRight(nm, "\x00"))
			off += syscall.SizeofInotifyEvent + int(ev.Len)
		}
	}
}
`

// watchImageTarball builds an image holding only /watch and saves it as
// a docker-archive tarball tagged ref.
func watchImageTarball(t *testing.T, ref string) string {
	t.Helper()
	layer := testimage.Layer(t, testimage.GoProgram(t, "watch", inotifyWatch))
	return testimage.WriteArchive(t, ref, testimage.Image(t, nil, nil, layer))
}

// TestVMShellAndFileEvents boots one qemu machine and checks what only a
// VM needs: `berth machine shell` runs in the VM (its kernel, its busybox)
// with the command's exit code, and a file changed on the host inside a
// shared folder raises inotify events in a container that bind-mounts it.
func TestVMShellAndFileEvents(t *testing.T) {
	img := testImageDir(t)
	bin, err := testbin.Build(t.TempDir(), "./cmd/berth")
	if err != nil {
		t.Fatalf("build berth: %v", err)
	}
	e := cliEnv{bin: bin, home: t.TempDir()}
	const m = "qtools"
	mdir := filepath.Join(e.home, "machines", m)
	t.Cleanup(func() {
		e.run(t, 2*time.Minute, "machine", "stop", m)
		machineproc.Kill(mdir)
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(mdir, "daemon.log"))
			t.Logf("daemon.log:\n%s", b)
		}
	})
	e.must(t, time.Minute, "machine", "init", "--driver", "qemu", "--image", img, "--cpus", "1", "--memory", "1GiB", "--disk", "4GiB", m)
	e.must(t, 3*time.Minute, "machine", "start", m)

	t.Run("Shell", func(t *testing.T) {
		out, err := e.run(t, time.Minute, "machine", "shell", m, "--", "sh", "-c", "uname -r; readlink /bin/sh; exit 3")
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 3 {
			t.Fatalf("machine shell: err = %v, want exit status 3\n%s", err, out)
		}
		host, _ := os.ReadFile("/proc/sys/kernel/osrelease")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 || lines[0] == strings.TrimSpace(string(host)) || lines[1] != "busybox" {
			t.Errorf("machine shell output = %q, want the VM's kernel release and /bin/sh -> busybox", out)
		}
		// -t: a pseudo-terminal in the VM, even with stdin not one here.
		out, err = e.run(t, time.Minute, "machine", "shell", "-t", m, "--", "sh", "-c", "test -t 0 && echo tty-in-vm")
		if err != nil || !strings.Contains(out, "tty-in-vm") {
			t.Errorf("machine shell -t: %v\n%q", err, out)
		}
		// No command: the VM's login shell, here reading its script from stdin.
		cmd := exec.Command(e.bin, "machine", "shell", m)
		cmd.Env = append(os.Environ(), "BERTH_HOME="+e.home, "BERTH_MACHINE=")
		cmd.Stdin = strings.NewReader("echo login-$((2+2)) $0\nexit 4\n")
		b, err := cmd.CombinedOutput()
		if !errors.As(err, &ee) || ee.ExitCode() != 4 || !strings.Contains(string(b), "login-4 -sh") && !strings.Contains(string(b), "login-4 /bin/sh") {
			t.Errorf("machine shell with a script on stdin: %v\n%q", err, b)
		}
	})

	t.Run("FileEvents", func(t *testing.T) {
		// t.TempDir is under /tmp, which a qemu machine shares on Linux.
		dir := t.TempDir()
		file := filepath.Join(dir, "f.txt")
		if err := os.WriteFile(file, []byte("one\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		e.must(t, 2*time.Minute, "--machine", m, "load", "-q", "-i", watchImageTarball(t, "berth-test/watch:1"))
		e.must(t, 2*time.Minute, "--machine", m, "run", "-d", "--name", "watcher", "-v", dir+":/w", "berth-test/watch:1", "/watch", "/w")
		logs := func() string { out, _ := e.run(t, time.Minute, "--machine", m, "logs", "watcher"); return out }
		waitLogs(t, logs, "ready")
		follow := followLogs(t, e, m, "watcher")
		waitLine(t, follow, "ready") // the stream is attached
		start := time.Now()
		if err := os.WriteFile(file, []byte("two\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		waitLine(t, follow, "CLOSE_WRITE f.txt")
		t.Logf("host write to the container's inotify event: %v (through berth logs -f)", time.Since(start))
		waitLogs(t, logs, "MODIFY f.txt")
		if err := os.WriteFile(filepath.Join(dir, "new.txt"), []byte("new\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		waitLogs(t, logs, " new.txt")
		if err := os.Chmod(file, 0o600); err != nil {
			t.Fatal(err)
		}
		waitLogs(t, logs, "ATTRIB f.txt")
		// A removal is replayed on the directory itself (the name is gone
		// on both sides): an event on /w without a name.
		if err := os.Remove(filepath.Join(dir, "new.txt")); err != nil {
			t.Fatal(err)
		}
		waitLogs(t, logs, "\nMODIFY \n")
		out := logs()
		t.Logf("events seen in the container:\n%s", out)
		// The replay reaches the host again (the same mtime, the same
		// mode): were it sent back, the events would repeat.
		if n := strings.Count(out, "MODIFY f.txt"); n != 1 {
			t.Errorf("MODIFY f.txt seen %d times for one change: host and VM echo each other", n)
		}
		e.run(t, time.Minute, "--machine", m, "rm", "-f", "watcher")
	})
}

// waitLogs polls logs until they contain want.
func waitLogs(t *testing.T, logs func() string, want string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		out := logs()
		if strings.Contains(out, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the container's log never showed %q:\n%s", want, out)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// followLogs streams a container's log lines (berth logs -f) until the
// test ends.
func followLogs(t *testing.T, e cliEnv, machine, ctr string) <-chan string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, e.bin, "--machine", machine, "logs", "-f", ctr)
	cmd.Env = append(os.Environ(), "BERTH_HOME="+e.home, "BERTH_MACHINE=")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
	})
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return lines
}

// waitLine reads lines until one contains want.
func waitLine(t *testing.T, lines <-chan string, want string) {
	t.Helper()
	timeout := time.After(90 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the log stream ended before %q", want)
			}
			if strings.Contains(l, want) {
				return
			}
		case <-timeout:
			t.Fatalf("the log stream never showed %q", want)
		}
	}
}
