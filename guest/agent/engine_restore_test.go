//go:build linux

package agent

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	ctypes "github.com/moby/moby/api/types/container"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

func TestRestartPolicy(t *testing.T) {
	h, ctx := setup(t)
	id := h.mustCreate(ctx, createOpts{cfg: sh("echo run; exit 3"),
		hc: ctypes.HostConfig{RestartPolicy: ctypes.RestartPolicy{Name: "on-failure", MaximumRetryCount: 2}}})
	h.start(ctx, id)
	waitFor(t, "two restarts then exited", func() bool {
		doc := h.inspect(ctx, id)
		return doc.RestartCount == 2 && doc.State.Status == "exited"
	})
	if doc := h.inspect(ctx, id); doc.State.ExitCode != 3 {
		t.Errorf("exit code %d, want 3", doc.State.ExitCode)
	}
	sid, conn := h.openData(ctx)
	defer conn.Close()
	if _, err := h.ctr.Logs(ctx, &agentv1.LogsRequest{Id: id, StreamId: sid, Stdout: true}); err != nil {
		t.Fatal(err)
	}
	if out, _, _ := demux(conn); out != "run\nrun\nrun\n" {
		t.Errorf("log of three runs: %q", out)
	}

	// --rm: the container is gone once it exits.
	rm := h.mustCreate(ctx, createOpts{cfg: sh("exit 0"), hc: ctypes.HostConfig{AutoRemove: true}})
	h.start(ctx, rm)
	if w, err := h.ctr.Wait(ctx, &agentv1.WaitContainerRequest{Id: rm, Condition: "removed"}); err != nil || w.StatusCode != 0 {
		t.Fatalf("wait removed: %v %v", w, err)
	}
	if _, err := h.ctr.Inspect(ctx, &agentv1.InspectContainerRequest{Id: rm}); err == nil {
		t.Errorf("--rm container still exists")
	}
}

func TestLiveRestore(t *testing.T) {
	env := newTestEnv(t)
	h := env.start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	closed := false
	t.Cleanup(func() {
		if closed { // the second server was not opened (a failure): open one to clean up
			h = env.start(t)
		}
		h.cleanupAll()
	})
	h.loadImage(ctx, testImage, nil)
	id := h.mustCreate(ctx, createOpts{name: "ticker", cfg: sh("i=0; while true; do i=$((i+1)); echo tick$i; sleep 0.1; done")})
	h.start(ctx, id)
	pid := h.inspect(ctx, id).State.Pid

	h.close()
	closed = true
	time.Sleep(300 * time.Millisecond) // ticks written while no agent runs
	h = env.start(t)
	closed = false

	doc := h.inspect(ctx, "ticker")
	if doc.State.Status != "running" || doc.State.Pid != pid {
		t.Fatalf("after restore: status %s pid %d, want running pid %d", doc.State.Status, doc.State.Pid, pid)
	}
	l, err := h.ctr.List(ctx, &agentv1.ListContainersRequest{Filters: []string{"status=running"}})
	if err != nil || len(l.Containers) != 1 {
		t.Fatalf("running containers after restore: %v %v", l, err)
	}
	count := func() int {
		sid, conn := h.openData(ctx)
		defer conn.Close()
		if _, err := h.ctr.Logs(ctx, &agentv1.LogsRequest{Id: id, StreamId: sid, Stdout: true}); err != nil {
			t.Fatal(err)
		}
		out, _, _ := demux(conn)
		return strings.Count(out, "tick")
	}
	n := count()
	waitFor(t, "logs to keep flowing", func() bool { return count() > n })
	var timeout int32 = 1
	if _, err := h.ctr.Stop(ctx, &agentv1.StopContainerRequest{Id: id, Timeout: &timeout}); err != nil {
		t.Fatalf("stop after restore: %v", err)
	}
	if st := h.inspect(ctx, id).State; st.Status != "exited" {
		t.Errorf("after stop: %s", st.Status)
	}
}

// TestRestoreAfterMachineRestart simulates a reboot while no agent runs:
// the container's processes and network namespace are gone. The next agent
// gives it a namespace again and its restart policy brings it back.
func TestRestoreAfterMachineRestart(t *testing.T) {
	env := newTestEnv(t)
	h := env.start(t)
	t.Cleanup(func() { h.cleanupAll() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h.loadImage(ctx, testImage, nil)
	if _, err := h.nets.Create(ctx, &agentv1.CreateNetworkRequest{Name: "tnR", Subnet: "10.252.3.0/24"}); err != nil {
		t.Fatal(err)
	}
	id := h.mustCreate(ctx, createOpts{name: "svc", cfg: sh("sleep 1000"),
		hc: ctypes.HostConfig{NetworkMode: "tnR", RestartPolicy: ctypes.RestartPolicy{Name: "always"}}})
	h.start(ctx, id)
	pid := h.inspect(ctx, id).State.Pid
	h.close()

	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill container: %v", err)
	}
	waitFor(t, "the container process to go", func() bool { return syscall.Kill(pid, 0) != nil })
	if err := removeNetns(filepath.Join(env.dataDir, "netns", id)); err != nil {
		t.Fatal(err)
	}

	h = env.start(t)
	waitFor(t, "the container to run again", func() bool {
		st := h.inspect(ctx, id).State
		return st.Status == "running" && st.Pid != pid
	})
	cfg, _ := json.Marshal(ctypes.ExecCreateRequest{Cmd: []string{"nslookup", "svc"}})
	x, err := h.ctr.ExecCreate(ctx, &agentv1.ExecCreateRequest{Id: id, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.ctr.ExecStart(ctx, &agentv1.ExecStartRequest{ExecId: x.ExecId, Detach: true}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "name resolution on the restored network", func() bool {
		r, err := h.ctr.ExecInspect(ctx, &agentv1.ExecInspectRequest{ExecId: x.ExecId})
		return err == nil && !r.Running && r.ExitCode == 0
	})
}
