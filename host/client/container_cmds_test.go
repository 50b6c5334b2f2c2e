package client

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/network"
)

func TestRmRunningNeedsForce(t *testing.T) {
	c, h, out, _ := newEngineCLI(t, "")
	h.ctrs.add(&fakeCtr{name: "web", state: "running", keepRunning: true})
	h.ctrs.add(&fakeCtr{name: "old", state: "exited"})
	msg, code := execCmd(t, c.newRmCommand(), "old", "web", "ghost")
	want := "Error response from daemon: cannot remove container \"/web\": container is running: stop the container before removing or force remove\n" +
		"Error response from daemon: No such container: ghost\n"
	if code != 1 || msg != want {
		t.Errorf("exit %d, message %q\nwant %q", code, msg, want)
	}
	if out.String() != "old\n" {
		t.Errorf("stdout %q", out)
	}
	out.Reset()
	if msg, code := execCmd(t, c.newRmCommand(), "-f", "web"); code != 0 || out.String() != "web\n" {
		t.Errorf("rm -f: exit %d %q, stdout %q", code, msg, out)
	}
}

func TestLifecycleVerbsPrintNames(t *testing.T) {
	c, h, out, _ := newEngineCLI(t, "")
	h.ctrs.add(&fakeCtr{name: "a", keepRunning: true})
	steps := []struct {
		cmd  func() []string
		want string
	}{
		{func() []string { msg, _ := execCmd(t, c.newStartCommand(), "a"); return []string{msg} }, "a\n"},
		{func() []string { msg, _ := execCmd(t, c.newPauseCommand(), "a"); return []string{msg} }, "a\n"},
		{func() []string { msg, _ := execCmd(t, c.newUnpauseCommand(), "a"); return []string{msg} }, "a\n"},
		{func() []string { msg, _ := execCmd(t, c.newStopCommand(), "-t", "1", "a"); return []string{msg} }, "a\n"},
		{func() []string { msg, _ := execCmd(t, c.newWaitCommand(), "a"); return []string{msg} }, "137\n"},
	}
	for i, s := range steps {
		out.Reset()
		if msg := s.cmd(); msg[0] != "" || out.String() != s.want {
			t.Errorf("step %d: error %q stdout %q, want %q", i, msg[0], out, s.want)
		}
	}
	if !strings.Contains(strings.Join(h.ctrs.calls, ";"), "stop a timeout=true") {
		t.Errorf("calls %v", h.ctrs.calls)
	}
	msg, code := execCmd(t, c.newKillCommand(), "a")
	if code != 1 || !strings.Contains(msg, "is not running") {
		t.Errorf("kill of a stopped container: %d %q", code, msg)
	}
}

func TestPsOutput(t *testing.T) {
	c, h, out, _ := newEngineCLI(t, "")
	h.ctrs.add(&fakeCtr{name: "web", image: "nginx", state: "running"})
	h.ctrs.add(&fakeCtr{name: "old", image: "busybox", state: "exited"})
	if msg, code := execCmd(t, c.newPsCommand()); code != 0 {
		t.Fatalf("%d %s", code, msg)
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "CONTAINER ID   IMAGE     COMMAND   CREATED") ||
		!strings.HasSuffix(lines[0], "STATUS    PORTS     NAMES") || !strings.Contains(lines[1], `   "nginx"   3 minutes ago   running             web`) {
		t.Errorf("ps:\n%s", out)
	}
	out.Reset()
	execCmd(t, c.newPsCommand(), "-aq")
	if out.String() != h.ctrs.order[0].id[:12]+"\n"+h.ctrs.order[1].id[:12]+"\n" {
		t.Errorf("ps -aq: %q", out)
	}
	out.Reset()
	execCmd(t, c.newPsCommand(), "-a", "--format", "{{.Names}} {{.State}}", "-f", "status=exited", "-n", "5")
	if out.String() != "web running\nold exited\n" || !strings.Contains(strings.Join(h.ctrs.calls, ";"), "list all=true limit=5 filters=[status=exited]") {
		t.Errorf("ps --format: %q, calls %v", out, h.ctrs.calls)
	}
	if msg, code := execCmd(t, c.newPsCommand(), "-f", "nonsense"); code != 125 || !strings.Contains(msg, "nonsense") {
		t.Errorf("bad filter: %d %q", code, msg)
	}
}

// TestPsAsksDaemonOnlyForPublished: ps asks the machine daemon for its
// forwards (a connection of its own) only when a listed container publishes
// a port or the machine forwards host-network ports (--forward-all).
func TestPsAsksDaemonOnlyForPublished(t *testing.T) {
	for _, tc := range []struct {
		name       string
		published  bool
		forwardAll bool
		asks       bool
		ports      string // in the PORTS column
	}{
		{"nothing published", false, false, false, ""},
		{"published", true, false, true, "127.0.0.1:8080->80/tcp"},
		{"forward-all", false, true, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, h, out, _ := newEngineCLI(t, "")
			c.conn.machine.Config.ForwardAll = tc.forwardAll
			ct := &fakeCtr{name: "web", image: "nginx", state: "running"}
			if tc.published {
				ct.ports = network.PortMap{network.MustParsePort("80/tcp"): {{HostPort: "8080"}}}
			}
			h.ctrs.add(ct)
			if msg, code := execCmd(t, c.newPsCommand(), "--format", "{{.Names}} {{.Ports}}"); code != 0 {
				t.Fatalf("%d %s", code, msg)
			}
			asked := strings.Contains(strings.Join(h.ctrs.calls, ";"), "daemon list")
			if asked != tc.asks || out.String() != "web "+tc.ports+"\n" {
				t.Errorf("asked the daemon: %v (want %v), output %q, calls %v", asked, tc.asks, out, h.ctrs.calls)
			}
		})
	}
}

func TestLogsDemuxesAndValidates(t *testing.T) {
	c, h, out, errOut := newEngineCLI(t, "")
	h.ctrs.add(&fakeCtr{name: "web", state: "running", logs: append(frame(1, "GET /\n"), frame(2, "warn\n")...)})
	if msg, code := execCmd(t, c.newLogsCommand(), "--tail", "5", "--since", "10m", "web"); code != 0 {
		t.Fatalf("%d %s", code, msg)
	}
	if out.String() != "GET /\n" || errOut.String() != "warn\n" {
		t.Errorf("stdout %q stderr %q", out, errOut)
	}
	if !strings.Contains(strings.Join(h.ctrs.calls, ";"), "logs web follow=false tail=5 since=true") {
		t.Errorf("calls %v", h.ctrs.calls)
	}
	if msg, code := execCmd(t, c.newLogsCommand(), "--since", "soon", "web"); code != 1 || !strings.Contains(msg, `invalid value for "since"`) {
		t.Errorf("bad --since: %d %q", code, msg)
	}
	if msg, code := execCmd(t, c.newLogsCommand(), "ghost"); code != 1 || msg != "Error response from daemon: No such container: ghost\n" {
		t.Errorf("unknown container: %d %q", code, msg)
	}
}

func TestExecExitCodes(t *testing.T) {
	c, h, out, _ := newEngineCLI(t, "")
	h.ctrs.add(&fakeCtr{name: "web", state: "running", execOut: "hi\n", execCode: 5})
	h.ctrs.add(&fakeCtr{name: "nocmd", state: "running", execCode: 127})
	h.ctrs.add(&fakeCtr{name: "stopped", state: "exited"})
	if _, code := execCmd(t, c.newExecCommand(), "web", "sh", "-c", "exit 5"); code != 5 || out.String() != "hi\n" {
		t.Errorf("exec: exit %d stdout %q", code, out)
	}
	if _, code := execCmd(t, c.newExecCommand(), "nocmd", "nope"); code != 127 {
		t.Errorf("missing command: exit %d, want 127", code)
	}
	msg, code := execCmd(t, c.newExecCommand(), "stopped", "true")
	if code != 1 || !strings.HasPrefix(msg, "Error response from daemon: container ") || !strings.HasSuffix(msg, " is not running\n") {
		t.Errorf("stopped: exit %d %q", code, msg)
	}
}

func TestStatsNoStream(t *testing.T) {
	c, h, out, _ := newEngineCLI(t, "")
	h.ctrs.add(&fakeCtr{name: "web", state: "running"})
	if msg, code := execCmd(t, c.newStatsCommand(), "--no-stream"); code != 0 {
		t.Fatalf("%d %s", code, msg)
	}
	want := "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O        BLOCK I/O        PIDS\n" +
		h.ctrs.order[0].id[:12] + "   web       20.00%    10MiB / 100MiB      10.00%    1.5kB / 500B   4.1kB / 8.19kB   3\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

func TestSmallCommands(t *testing.T) {
	c, h, out, _ := newEngineCLI(t, "")
	h.ctrs.add(&fakeCtr{name: "web", state: "running", ports: network.PortMap{network.MustParsePort("80/tcp"): {{HostPort: "8080"}}}})
	for _, tc := range []struct {
		run  func() (string, int)
		want string
	}{
		{func() (string, int) { return execCmd(t, c.newDiffCommand(), "web") }, "C /etc\nA /etc/x\nD /y\n"},
		{func() (string, int) { return execCmd(t, c.newTopCommand(), "web", "-ef") }, "UID                 PID                 CMD\nroot                42                  sleep 1000\n"},
		{func() (string, int) { return execCmd(t, c.newPortCommand(), "web") }, "80/tcp -> 127.0.0.1:8080\n"},
		{func() (string, int) {
			return execCmd(t, c.newCommitCommand(), "-m", "msg", "-c", "ENV A=1", "web", "me/img:v1")
		}, "sha256:" + strings.Repeat("0", 63) + "7\n"},
		{func() (string, int) { return execCmd(t, c.newRenameCommand(), "web", "www") }, ""},
	} {
		out.Reset()
		if msg, code := tc.run(); code != 0 || out.String() != tc.want {
			t.Errorf("exit %d %q, stdout %q, want %q", code, msg, out, tc.want)
		}
	}
	if msg, code := execCmd(t, c.newPortCommand(), "web", "443"); code != 1 || msg != "Error: No public port '443/tcp' published for web\n" {
		t.Errorf("port 443: %d %q", code, msg)
	}
}

func TestInspectTriesContainerThenImage(t *testing.T) {
	c, h, out, _ := newEngineCLI(t, "")
	h.ctrs.add(&fakeCtr{name: "web", state: "running"})
	h.imgs.present["busybox"] = true
	msg, code := execCmd(t, c.newInspectCommand(), "-f", "{{.Name}}", "web")
	if code != 0 || out.String() != "/web\n" {
		t.Errorf("container: %d %q %q", code, msg, out)
	}
	out.Reset()
	msg, code = execCmd(t, c.newInspectCommand(), "busybox", "nothing")
	if code != 1 || msg != "Error: No such object: nothing\n" || !strings.HasPrefix(out.String(), "[\n    {\n") {
		t.Errorf("image: %d %q\n%s", code, msg, out)
	}
	if msg, code := execCmd(t, c.newInspectCommand(), "--type", "container", "busybox"); code != 1 || msg != "Error: No such container: busybox\n" {
		t.Errorf("--type container: %d %q", code, msg)
	}
}

func TestCpBothWays(t *testing.T) {
	c, h, _, _ := newEngineCLI(t, "")
	h.ctrs.add(&fakeCtr{name: "web", state: "running"})
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for _, e := range []struct{ name, body string }{{"conf/", ""}, {"conf/a.txt", "A"}, {"conf/../../escape", "x"}} {
		hd := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), Typeflag: tar.TypeReg}
		if strings.HasSuffix(e.name, "/") {
			hd.Typeflag, hd.Mode = tar.TypeDir, 0o755
		}
		_ = tw.WriteHeader(hd)
		_, _ = tw.Write([]byte(e.body))
	}
	tw.Close()
	h.ctrs.copyTar = tb.Bytes()
	dir := t.TempDir()
	if msg, code := execCmd(t, c.newCpCommand(), "web:/etc/conf", dir); code != 0 {
		t.Fatalf("cp from: %d %s", code, msg)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "conf", "a.txt")); err != nil || string(b) != "A" {
		t.Errorf("copied file: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "escape")); err == nil {
		t.Errorf("a tar entry escaped the destination")
	}
	renamed := filepath.Join(dir, "renamed")
	if msg, code := execCmd(t, c.newCpCommand(), "web:/etc/conf", renamed); code != 0 {
		t.Fatalf("cp to a new name: %d %s", code, msg)
	}
	if _, err := os.Stat(filepath.Join(renamed, "a.txt")); err != nil {
		t.Errorf("a directory copied to a missing path must take that name: %v", err)
	}
	// Into the container: /missing is not a directory there, so the file
	// is sent again into / named "missing".
	src := filepath.Join(dir, "up.txt")
	if err := os.WriteFile(src, []byte("UP"), 0o644); err != nil {
		t.Fatal(err)
	}
	if msg, code := execCmd(t, c.newCpCommand(), src, "web:/missing"); code != 0 {
		t.Fatalf("cp to: %d %s", code, msg)
	}
	last := h.ctrs.copyReqs[len(h.ctrs.copyReqs)-1]
	tr := tar.NewReader(bytes.NewReader(h.ctrs.copied))
	hd, err := tr.Next()
	if last.Path != "/" || err != nil || hd.Name != "missing" {
		t.Errorf("sent to %q an entry %v (%v)", last.Path, hd, err)
	}
	if msg, code := execCmd(t, c.newCpCommand(), "a", "b"); code != 1 || !strings.Contains(msg, "must specify at least one container source") {
		t.Errorf("no container: %d %q", code, msg)
	}
}
