package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestContainers runs the container, volume and network commands end to
// end on the native driver with the busybox image of TestImages, served
// from an in-memory registry on 127.0.0.1. The busybox image has only
// /bin/busybox and /bin/sh, so applets are called as "busybox NAME".
func TestContainers(t *testing.T) {
	requireBerth(t)
	img := serveImage(t, busyboxImage(t))
	steps := []struct {
		name string
		fn   func(*testing.T, testImage)
	}{
		{"run output and implicit pull", testRunOutput},
		{"exit codes", testRunExitCodes},
		{"stdin", testRunStdin},
		{"detached, logs -f, stop", testDetachedLogsStop},
		{"exec", testExec},
		{"pause and unpause", testPauseUnpause},
		{"named volume across containers", testNamedVolume},
		{"user network name resolution", testUserNetwork},
		{"commit and run", testCommitRun},
		{"cp round trip", testCpRoundTrip},
		{"bad input", testContainerBadInput},
	}
	for _, s := range steps {
		if !t.Run(s.name, func(t *testing.T) { s.fn(t, img) }) && s.name == "run output and implicit pull" {
			return // nothing else can work
		}
	}
}

func testRunOutput(t *testing.T, img testImage) {
	r := berth(t, nil, "run", "--rm", img.ref, "sh", "-c", "echo hello; echo oops >&2")
	if r.code != 0 || r.stdout != "hello\n" {
		t.Fatalf("want exactly hello on stdout:\n%s", r)
	}
	errs := strings.Join(r.errLines(), "\n")
	if !strings.HasPrefix(errs, fmt.Sprintf("Unable to find image '%s' locally", img.ref)) || !strings.HasSuffix(errs, "oops") {
		t.Errorf("stderr must announce the pull and end with the container's stderr:\n%s", r.stderr)
	}
	// The image is here now: no pull, output captured exactly.
	r = berthOK(t, "run", "--rm", "-e", "GREETING=hi there", img.ref, "sh", "-c", `echo "$GREETING"; busybox printf 'no newline'`)
	if r.stdout != "hi there\nno newline" || len(r.errLines()) != 0 {
		t.Errorf("second run:\n%s", r)
	}
}

func testRunExitCodes(t *testing.T, img testImage) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"sh", "-c", "exit 3"}, 3},
		{[]string{"does-not-exist"}, 127},
		{[]string{"/tmp"}, 126},
	} {
		r := berth(t, nil, append([]string{"run", "--rm", img.ref}, tc.args...)...)
		if r.code != tc.code {
			t.Errorf("run %v: exit %d, want %d\n%s", tc.args, r.code, tc.code, r)
		}
	}
}

func testRunStdin(t *testing.T, img testImage) {
	r := berth(t, strings.NewReader("line one\nline two\n"), "run", "--rm", "-i", img.ref, "busybox", "wc", "-l")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "2" {
		t.Errorf("stdin must reach the container and be closed at its end:\n%s", r)
	}
}

func testDetachedLogsStop(t *testing.T, img testImage) {
	r := berthOK(t, "run", "-d", "--name", "ticker", img.ref, "sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); busybox sleep 0.2; done")
	id := strings.TrimSpace(r.stdout)
	if len(id) != 64 {
		t.Fatalf("run -d printed %q; want a full id", r.stdout)
	}
	defer berth(t, nil, "rm", "-f", "ticker")
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, berthBin, "logs", "-f", "ticker")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for want := 0; want < 3; want++ {
		if !sc.Scan() || sc.Text() != fmt.Sprintf("tick %d", want) {
			t.Fatalf("logs -f line %d: %q", want, sc.Text())
		}
	}
	if r := berthOK(t, "stop", "-t", "1", "ticker"); r.stdout != "ticker\n" {
		t.Errorf("stop printed %q", r.stdout)
	}
	for sc.Scan() {
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("logs -f must end when the container stops: %v", err)
	}
	r = berthOK(t, "ps", "-a", "--filter", "name=ticker", "--format", "{{.State}}")
	if r.stdout != "exited\n" {
		t.Errorf("state after stop: %q", r.stdout)
	}
}

func testExec(t *testing.T, img testImage) {
	berthOK(t, "run", "-d", "--name", "execme", img.ref, "busybox", "sleep", "300")
	defer berth(t, nil, "rm", "-f", "execme")
	r := berthOK(t, "exec", "-e", "X=1", "-w", "/tmp", "execme", "sh", "-c", "echo $X $(busybox pwd)")
	if r.stdout != "1 /tmp\n" {
		t.Errorf("exec output %q", r.stdout)
	}
	if r := berth(t, nil, "exec", "execme", "sh", "-c", "exit 7"); r.code != 7 {
		t.Errorf("exec exit code %d, want 7", r.code)
	}
	if r := berth(t, nil, "exec", "execme", "nope"); r.code != 127 {
		t.Errorf("exec of a missing command: exit %d, want 127\n%s", r.code, r)
	}
	berthOK(t, "stop", "-t", "0", "execme")
	r = berth(t, nil, "exec", "execme", "true")
	if r.code == 0 || !strings.Contains(r.stderr, "Error response from daemon: container ") || !strings.Contains(r.stderr, "is not running") {
		t.Errorf("exec in a stopped container:\n%s", r)
	}
}

func testPauseUnpause(t *testing.T, img testImage) {
	berthOK(t, "run", "-d", "--name", "pauser", img.ref, "busybox", "sleep", "300")
	defer berth(t, nil, "rm", "-f", "pauser")
	berthOK(t, "pause", "pauser")
	if r := berthOK(t, "ps", "--filter", "name=pauser", "--format", "{{.Status}}"); !strings.HasSuffix(strings.TrimSpace(r.stdout), "(Paused)") {
		t.Errorf("status while paused: %q", r.stdout)
	}
	berthOK(t, "unpause", "pauser")
	if r := berthOK(t, "ps", "--filter", "name=pauser", "--format", "{{.Status}}"); strings.Contains(r.stdout, "Paused") || !strings.HasPrefix(r.stdout, "Up") {
		t.Errorf("status after unpause: %q", r.stdout)
	}
}

func testNamedVolume(t *testing.T, img testImage) {
	if r := berthOK(t, "volume", "create", "e2edata"); r.stdout != "e2edata\n" {
		t.Errorf("volume create printed %q", r.stdout)
	}
	defer berth(t, nil, "volume", "rm", "-f", "e2edata")
	berthOK(t, "run", "--rm", "-v", "e2edata:/data", img.ref, "sh", "-c", "echo kept > /data/f")
	r := berthOK(t, "run", "--rm", "-v", "e2edata:/data:ro", img.ref, "busybox", "cat", "/data/f")
	if r.stdout != "kept\n" {
		t.Errorf("second container read %q", r.stdout)
	}
	if r := berth(t, nil, "run", "--rm", "-v", "e2edata:/data:ro", img.ref, "sh", "-c", "echo x > /data/g"); r.code == 0 {
		t.Errorf("a :ro volume was writable")
	}
	r = berthOK(t, "volume", "ls", "--format", "{{.Driver}} {{.Name}}", "--filter", "name=e2edata")
	if r.stdout != "local e2edata\n" {
		t.Errorf("volume ls: %q", r.stdout)
	}
}

func testUserNetwork(t *testing.T, img testImage) {
	r := berthOK(t, "network", "create", "e2enet")
	if len(strings.TrimSpace(r.stdout)) != 64 {
		t.Errorf("network create printed %q", r.stdout)
	}
	defer berth(t, nil, "network", "rm", "e2enet")
	berthOK(t, "run", "-d", "--name", "web", "--network", "e2enet", img.ref, "sh", "-c", "echo served > /tmp/index.html && busybox httpd -f -p 8080 -h /tmp")
	defer berth(t, nil, "rm", "-f", "web")
	// Debian's static busybox cannot use glibc's resolver inside a container
	// (its wget segfaults on any name, and with -T), so the name is resolved with
	// busybox's own nslookup through the embedded DNS server, and the page
	// fetched from the address it gave.
	const fetch = `ip=$(busybox nslookup web 2>/dev/null | busybox awk '/^Address/ && !/#53/ {a=$NF} END {print a}'); ` +
		`[ -n "$ip" ] || { echo "web does not resolve" >&2; exit 2; }; busybox wget -q -O - "http://$ip:8080/index.html"`
	var got result
	for i := 0; i < 20; i++ { // the server may need a moment to listen
		got = berth(t, nil, "run", "--rm", "--network", "e2enet", img.ref, "sh", "-c", fetch)
		if got.code == 0 || strings.Contains(got.stderr, "does not resolve") {
			break // served, or the name does not resolve: retrying will not help
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got.code != 0 || got.stdout != "served\n" {
		t.Errorf("fetch from web:8080 by name:\n%s", got)
	}
	// A container on another network does not see the name.
	berthOK(t, "network", "create", "e2eother")
	defer berth(t, nil, "network", "rm", "e2eother")
	if r := berth(t, nil, "run", "--rm", "--network", "e2eother", img.ref, "sh", "-c", fetch); r.code == 0 {
		t.Errorf("a container on another network reached web:\n%s", r)
	}
}

func testCommitRun(t *testing.T, img testImage) {
	berthOK(t, "run", "--name", "tocommit", img.ref, "sh", "-c", "echo baked > /tmp/baked")
	defer berth(t, nil, "rm", "-f", "tocommit")
	if r := berthOK(t, "diff", "tocommit"); !strings.Contains(r.stdout, "A /tmp/baked\n") {
		t.Errorf("diff:\n%s", r.stdout)
	}
	r := berthOK(t, "commit", "-m", "e2e", "tocommit", "e2e/committed:1")
	if !strings.HasPrefix(r.stdout, "sha256:") || len(strings.TrimSpace(r.stdout)) != 71 {
		t.Errorf("commit printed %q", r.stdout)
	}
	defer berth(t, nil, "rmi", "e2e/committed:1")
	if r := berthOK(t, "run", "--rm", "e2e/committed:1", "busybox", "cat", "/tmp/baked"); r.stdout != "baked\n" {
		t.Errorf("committed image has %q", r.stdout)
	}
}

func testCpRoundTrip(t *testing.T, img testImage) {
	berthOK(t, "run", "-d", "--name", "cpme", img.ref, "busybox", "sleep", "300")
	defer berth(t, nil, "rm", "-f", "cpme")
	dir := t.TempDir()
	src := filepath.Join(dir, "in")
	if err := os.MkdirAll(filepath.Join(src, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "sub", "f.txt"), []byte("round trip\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	berthOK(t, "cp", src, "cpme:/tmp/")
	if r := berthOK(t, "exec", "cpme", "busybox", "cat", "/tmp/in/sub/f.txt"); r.stdout != "round trip\n" {
		t.Errorf("in the container: %q", r.stdout)
	}
	back := filepath.Join(dir, "back")
	berthOK(t, "cp", "cpme:/tmp/in", back)
	b, err := os.ReadFile(filepath.Join(back, "sub", "f.txt"))
	if err != nil || string(b) != "round trip\n" {
		t.Errorf("copied back: %q %v", b, err)
	}
	if fi, err := os.Stat(filepath.Join(back, "sub", "f.txt")); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("mode after the round trip: %v %v", fi, err)
	}
}

func testContainerBadInput(t *testing.T, img testImage) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"run", "--memory", "12x", img.ref}, 125, `invalid argument "12x" for "-m, --memory" flag`},
		{[]string{"run", "--restart", "sometimes", img.ref}, 125, "invalid restart policy"},
		{[]string{"run", "-p", "abc", img.ref}, 125, "abc"},
		{[]string{"run", "127.0.0.1:1/nothing/here:1"}, 125, ""},
		{[]string{"logs", "no-such-container"}, 1, "No such container: no-such-container"},
		{[]string{"rm", "no-such-container"}, 1, "No such container: no-such-container"},
	} {
		r := berth(t, nil, tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("berth %v: want exit %d and %q\n%s", tc.args, tc.code, tc.want, r)
		}
	}
	berthOK(t, "run", "-d", "--name", "busy", img.ref, "busybox", "sleep", "300")
	defer berth(t, nil, "rm", "-f", "busy")
	r := berth(t, nil, "rm", "busy")
	if r.code != 1 || !strings.Contains(r.stderr, `Error response from daemon: cannot remove container "/busy": container is running`) {
		t.Errorf("rm of a running container:\n%s", r)
	}
}
