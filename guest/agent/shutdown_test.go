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

// TestShutdownStopsContainers checks the VM engine's shutdown (Options.
// StopContainersOnExit): running containers get their own stop signal,
// one that ignores it is killed after its stop timeout, restart policies
// do not restart them meanwhile, and at the next start "always" and
// "unless-stopped" containers come back (a daemon restart for docker)
// while a manually stopped "unless-stopped" one and a "no" one stay down.
func TestShutdownStopsContainers(t *testing.T) {
	env := newTestEnv(t)
	h := env.start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	open := true
	t.Cleanup(func() {
		if !open {
			h = env.start(t)
		}
		h.cleanupAll()
	})
	h.loadImage(ctx, testImage, nil)
	loop := "while true; do sleep 0.1; done"
	one := 1
	cs := []struct {
		name, policy, stopSignal, script string
		stopTimeout                      *int
		manual                           bool
		code                             int
		log                              string
		back                             bool
	}{
		{name: "usr1", policy: "always", stopSignal: "SIGUSR1", script: "trap 'echo got-usr1; exit 7' USR1; trap 'echo got-term; exit 9' TERM; " + loop, code: 7, log: "got-usr1", back: true},
		{name: "term", policy: "unless-stopped", script: "trap 'echo got-term; exit 0' TERM; " + loop, code: 0, log: "got-term", back: true},
		{name: "stubborn", policy: "no", stopTimeout: &one, script: "trap '' TERM; " + loop, code: 137},
		{name: "manual", policy: "unless-stopped", manual: true, script: "trap 'exit 0' TERM; echo trapped; " + loop, code: 0},
	}
	ids := map[string]string{}
	for _, c := range cs {
		cfg := sh(c.script)
		cfg.StopSignal, cfg.StopTimeout = c.stopSignal, c.stopTimeout
		hc := ctypes.HostConfig{RestartPolicy: ctypes.RestartPolicy{Name: ctypes.RestartPolicyMode(c.policy)}}
		ids[c.name] = h.mustCreate(ctx, createOpts{name: c.name, cfg: cfg, hc: hc})
		h.start(ctx, ids[c.name])
	}
	// The shell is the container's pid 1, which ignores a TERM that comes
	// before its trap is set: stop it once the trap is in place.
	waitFor(t, "manual's TERM trap", func() bool { return strings.Contains(h.logs(ctx, ids["manual"]), "trapped") })
	if _, err := h.ctr.Stop(ctx, &agentv1.StopContainerRequest{Id: ids["manual"]}); err != nil {
		t.Fatalf("stop manual: %v", err)
	}

	h.srv.stopContainers(ctx)
	// Past docker's first restart backoff (100 ms): a restart policy that
	// still applied would show the container restarting or running.
	time.Sleep(time.Second)
	for _, c := range cs {
		t.Run("stopped/"+c.name, func(t *testing.T) {
			doc := h.with(t).inspect(ctx, ids[c.name])
			if doc.State.Status != "exited" || doc.RestartCount != 0 {
				t.Fatalf("after shutdown: status %s, restarts %d; want exited, 0", doc.State.Status, doc.RestartCount)
			}
			if doc.State.ExitCode != c.code {
				t.Errorf("exit code %d, want %d", doc.State.ExitCode, c.code)
			}
			if c.log != "" {
				if out := h.with(t).logs(ctx, ids[c.name]); !strings.Contains(out, c.log) {
					t.Errorf("log %q lacks %q (the container's stop signal)", out, c.log)
				}
			}
		})
	}

	h.srv.opts.StopContainersOnExit = true
	h.close()
	open = false
	h = env.start(t)
	open = true
	for _, c := range cs {
		t.Run("next boot/"+c.name, func(t *testing.T) {
			if c.back {
				waitFor(t, c.name+" running again", func() bool {
					return h.with(t).inspect(ctx, ids[c.name]).State.Status == "running"
				})
				return
			}
			if st := h.with(t).inspect(ctx, ids[c.name]).State.Status; st != "exited" {
				t.Errorf("status %s, want exited (policy %s, manually stopped %v)", st, c.policy, c.manual)
			}
		})
	}
}

// logs returns a container's stdout log.
func (h *harness) logs(ctx context.Context, id string) string {
	h.t.Helper()
	sid, conn := h.openData(ctx)
	defer conn.Close()
	if _, err := h.ctr.Logs(ctx, &agentv1.LogsRequest{Id: id, StreamId: sid, Stdout: true}); err != nil {
		h.t.Fatalf("logs %s: %v", id, err)
	}
	out, _, err := demux(conn)
	if err != nil {
		h.t.Fatalf("read logs: %v", err)
	}
	return out
}
