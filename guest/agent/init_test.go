//go:build linux

package agent

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	ctypes "github.com/moby/moby/api/types/container"

	"github.com/berth-dev/berth/guest/internal/testenv"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// staticAgent builds berth-agent without cgo (test binaries are dynamically
// linked, and the busybox image has no C library): the --init binary.
func staticAgent(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "berth-agent")
	cmd := exec.Command("go", "build", "-o", out, "../../cmd/berth-agent")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build berth-agent: %v\n%s", err, b)
	}
	return out
}

// TestRunWithInit: docker's --init puts berth-agent, as docker-init, in
// front of the command: it is PID 1, forwards signals (a busybox httpd,
// which as PID 1 ignores SIGTERM, stops on it), passes exit codes through
// and reaps orphans.
func TestRunWithInit(t *testing.T) {
	testenv.RequiresRoot(t) // before building anything
	engineHooks.initPath = staticAgent(t)
	t.Cleanup(func() { engineHooks.initPath = "" })
	h, ctx := setup(t)
	yes := true
	withInit := ctypes.HostConfig{Init: &yes}
	reap := `(sleep 1 & echo $! > /tmp/orphan)
	p=$(cat /tmp/orphan); i=0
	ppid=$(awk '{print $4}' /proc/$p/stat)
	[ "$ppid" = 1 ] || { echo "orphan's parent is $ppid"; exit 1; }
	while [ -e /proc/$p ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done
	[ -e /proc/$p ] && { echo "left: $(cat /proc/$p/stat)"; exit 1; }
	echo reaped`
	tests := []struct {
		name   string
		script string
		code   int64
		out    string
	}{
		{"init is PID 1", `cat /proc/1/cmdline; echo; [ $$ -gt 1 ] && echo "command is PID >1"`, 0,
			"/sbin/docker-init\x00--\x00sh\x00-c\x00cat /proc/1/cmdline; echo; [ $$ -gt 1 ] && echo \"command is PID >1\"\x00\ncommand is PID >1\n"},
		{"exit code", "exit 5", 5, ""},
		{"killed by a signal", "kill -KILL $$", 137, ""},
		{"orphans reaped", reap, 0, "reaped\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := h.with(t).run(ctx, createOpts{cfg: sh(tc.script), hc: withInit})
			if code != tc.code || out != tc.out {
				t.Errorf("exit %d output %q (stderr %q), want %d %q", code, out, errOut, tc.code, tc.out)
			}
		})
	}

	t.Run("SIGTERM stops httpd", func(t *testing.T) {
		id := h.mustCreate(ctx, createOpts{cfg: ctypes.Config{Image: testImage, Cmd: []string{"httpd", "-f", "-p", "80", "-h", "/www"}}, hc: withInit})
		h.start(ctx, id)
		if doc := h.inspect(ctx, id); doc.HostConfig.Init == nil || !*doc.HostConfig.Init {
			t.Errorf("inspect HostConfig.Init = %v, want true", doc.HostConfig.Init)
		}
		pid := h.inspect(ctx, id).State.Pid
		waitFor(t, "httpd under the init", func() bool { return childComm(pid) == "httpd" })
		if _, err := h.ctr.Kill(ctx, &agentv1.KillContainerRequest{Id: id, Signal: "SIGTERM"}); err != nil {
			t.Fatalf("kill -s TERM: %v", err)
		}
		w, err := h.ctr.Wait(ctx, &agentv1.WaitContainerRequest{Id: id})
		if err != nil {
			t.Fatalf("wait (httpd ignored SIGTERM?): %v", err)
		}
		if w.StatusCode != 128+15 {
			t.Errorf("exit %d, want 143 (httpd killed by SIGTERM)", w.StatusCode)
		}
	})
}

// childComm is the command name of the first child of pid ("" if none);
// children are listed per thread, and a Go program forks from any thread.
func childComm(pid int) string {
	lists, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, l := range lists {
		b, _ := os.ReadFile(l)
		if f := strings.Fields(string(b)); len(f) > 0 {
			comm, _ := os.ReadFile("/proc/" + f[0] + "/comm")
			return strings.TrimSpace(string(comm))
		}
	}
	return ""
}
