//go:build linux

package agent

import (
	"context"
	"strings"
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
