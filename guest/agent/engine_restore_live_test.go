//go:build linux

package agent

import (
	"context"
	"fmt"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestRestoreKeepsLiveNetns: after an agent restart where the old agent's
// namespace bind mounts are gone (they lived in its mount namespace, as
// with the native driver) but the container still runs, the new agent binds
// the container's own namespace again instead of building a new one, so
// the container keeps its network.
func TestRestoreKeepsLiveNetns(t *testing.T) {
	env := newTestEnv(t)
	h := env.start(t)
	t.Cleanup(func() { h.cleanupAll() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h.loadImage(ctx, testImage, nil)
	id := h.mustCreate(ctx, createOpts{name: "live", cfg: sh("sleep 1000")})
	h.start(ctx, id)
	doc := h.inspect(ctx, id)
	pid, ip := doc.State.Pid, doc.NetworkSettings.Networks["bridge"].IPAddress
	h.close()

	path := h.srv.engine.netnsPath(id)
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil {
		t.Fatalf("unmount %s: %v", path, err)
	}
	h = env.start(t)
	var want, got unix.Stat_t
	if err := unix.Stat(fmt.Sprintf("/proc/%d/ns/net", pid), &want); err != nil {
		t.Fatal(err)
	}
	if err := unix.Stat(path, &got); err != nil || got.Ino != want.Ino {
		t.Fatalf("netns at %s is inode %d (%v), want the running container's %d", path, got.Ino, err, want.Ino)
	}
	doc = h.inspect(ctx, id)
	if doc.State.Pid != pid || doc.NetworkSettings.Networks["bridge"].IPAddress != ip {
		t.Fatalf("after restore: pid %d ip %s, want %d %s", doc.State.Pid, doc.NetworkSettings.Networks["bridge"].IPAddress, pid, ip)
	}
}
