//go:build linux

package agent

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	ctypes "github.com/moby/moby/api/types/container"
	"google.golang.org/protobuf/types/known/emptypb"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

const testImage = "berth-test/busybox:1"

// setup starts a Server with the test image loaded; everything is removed
// when the test ends, even on failure.
func setup(t *testing.T) (*harness, context.Context) {
	t.Helper()
	env := newTestEnv(t)
	h := env.start(t)
	t.Cleanup(h.cleanupAll)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	h.loadImage(ctx, testImage, nil)
	return h, ctx
}

func sh(script string) ctypes.Config {
	return ctypes.Config{Image: testImage, Cmd: []string{"sh", "-c", script}}
}

func TestRunOutputAndExitCodes(t *testing.T) {
	h, ctx := setup(t)
	tests := []struct {
		name, script, stdout, stderr string
		code                         int64
	}{
		{"ok", "echo hello; echo world", "hello\nworld\n", "", 0},
		{"stderr and code", "echo out; echo err >&2; exit 3", "out\n", "err\n", 3},
		{"no newline", "printf abc", "abc", "", 0},
		{"killed child", "exec 2>/dev/null; sleep 1000 & kill -9 $!; wait $!", "", "", 137},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := h.with(t).run(ctx, createOpts{cfg: sh(tt.script)})
			if out != tt.stdout || errOut != tt.stderr || code != tt.code {
				t.Errorf("got stdout %q stderr %q code %d, want %q %q %d", out, errOut, code, tt.stdout, tt.stderr, tt.code)
			}
		})
	}
	t.Run("command not found", func(t *testing.T) {
		id := h.with(t).mustCreate(ctx, createOpts{cfg: ctypes.Config{Image: testImage, Cmd: []string{"nosuchcmd"}}})
		_, err := h.ctr.Start(ctx, &agentv1.ContainerRequest{Id: id})
		if err == nil || !strings.Contains(err.Error(), "executable file not found") {
			t.Fatalf("start: got %v, want executable file not found", err)
		}
		if code := h.with(t).inspect(ctx, id).State.ExitCode; code != 127 {
			t.Errorf("exit code %d, want 127", code)
		}
	})
}

func TestNamesAndRemove(t *testing.T) {
	h, ctx := setup(t)
	id := h.mustCreate(ctx, createOpts{name: "web", cfg: sh("sleep 1000")})
	_, err := h.create(ctx, createOpts{name: "web", cfg: sh("true")})
	want := `Conflict. The container name "/web" is already in use by container "` + id + `". You have to remove (or rename) that container to be able to reuse that name.`
	if err == nil || !isConflict(err) || !strings.Contains(err.Error(), want) {
		t.Fatalf("second create: got %v, want conflict %q", err, want)
	}
	anon := h.mustCreate(ctx, createOpts{cfg: sh("true")})
	if n := h.inspect(ctx, anon).Name; !validContainerName.MatchString(n) || !strings.Contains(n, "_") {
		t.Errorf("random name %q is not adjective_surname", n)
	}
	if doc := h.inspect(ctx, id[:8]); doc.ID != id || doc.Name != "/web" {
		t.Errorf("lookup by prefix: got %s %s", doc.ID, doc.Name)
	}
	if _, err := h.ctr.Start(ctx, &agentv1.ContainerRequest{Id: "web"}); err != nil {
		t.Fatal(err)
	}
	_, err = h.ctr.Remove(ctx, &agentv1.RemoveContainerRequest{Id: "web"})
	want = `cannot remove container "/web": container is running: stop the container before removing or force remove`
	if err == nil || !isConflict(err) || !strings.Contains(err.Error(), want) {
		t.Fatalf("rm running: got %v, want conflict %q", err, want)
	}
	if _, err := h.ctr.Remove(ctx, &agentv1.RemoveContainerRequest{Id: "web", Force: true}); err != nil {
		t.Fatalf("rm -f: %v", err)
	}
	_, err = h.ctr.Inspect(ctx, &agentv1.InspectContainerRequest{Id: "web"})
	if !errdefs.IsNotFound(errgrpc.ToNative(err)) || !strings.Contains(err.Error(), "No such container: web") {
		t.Errorf("inspect removed: got %v, want No such container", err)
	}
	if _, err := h.ctr.Rename(ctx, &agentv1.RenameRequest{Id: anon, Name: "renamed"}); err != nil {
		t.Fatalf("rename: %v", err)
	}
	if n := h.inspect(ctx, "renamed").Name; n != "/renamed" {
		t.Errorf("after rename name is %q", n)
	}
}

func TestBadCreate(t *testing.T) {
	h, ctx := setup(t)
	tests := []struct {
		name string
		o    createOpts
		want string
	}{
		{"restart policy", createOpts{cfg: sh("true"), hc: ctypes.HostConfig{RestartPolicy: ctypes.RestartPolicy{Name: "sometimes"}}}, "invalid restart policy: unknown policy 'sometimes'"},
		{"retry without on-failure", createOpts{cfg: sh("true"), hc: ctypes.HostConfig{RestartPolicy: ctypes.RestartPolicy{Name: "always", MaximumRetryCount: 2}}}, "maximum retry count can only be used with 'on-failure'"},
		{"unknown network", createOpts{cfg: sh("true"), hc: ctypes.HostConfig{NetworkMode: "nosuchnet"}}, "network nosuchnet not found"},
		{"bad name", createOpts{name: "a b", cfg: sh("true")}, "Invalid container name (a b)"},
		{"no image", createOpts{cfg: ctypes.Config{Image: "nosuch:img"}}, "No such image"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.create(ctx, tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestPauseAndStatus(t *testing.T) {
	h, ctx := setup(t)
	id := h.mustCreate(ctx, createOpts{name: "pz", cfg: sh("sleep 1000")})
	status := func() (string, string) {
		l, err := h.ctr.List(ctx, &agentv1.ListContainersRequest{All: true, Filters: []string{"name=pz"}})
		if err != nil || len(l.Containers) != 1 {
			t.Fatalf("list: %v %v", l, err)
		}
		return l.Containers[0].State, l.Containers[0].Status
	}
	if st, s := status(); st != "created" || s != "Created" {
		t.Errorf("created: %s %q", st, s)
	}
	if _, err := h.ctr.Start(ctx, &agentv1.ContainerRequest{Id: id}); err != nil {
		t.Fatal(err)
	}
	if st, s := status(); st != "running" || !strings.HasPrefix(s, "Up ") {
		t.Errorf("running: %s %q", st, s)
	}
	if _, err := h.ctr.Pause(ctx, &agentv1.ContainerRequest{Id: id}); err != nil {
		t.Fatal(err)
	}
	if st, s := status(); st != "paused" || !strings.HasSuffix(s, "(Paused)") {
		t.Errorf("paused: %s %q", st, s)
	}
	if _, err := h.ctr.Pause(ctx, &agentv1.ContainerRequest{Id: id}); !isConflict(err) {
		t.Errorf("second pause: %v, want conflict", err)
	}
	if _, err := h.ctr.Unpause(ctx, &agentv1.ContainerRequest{Id: id}); err != nil {
		t.Fatal(err)
	}
	if st, _ := status(); st != "running" {
		t.Errorf("unpaused: %s", st)
	}
	var timeout int32 = 1
	if _, err := h.ctr.Stop(ctx, &agentv1.StopContainerRequest{Id: id, Timeout: &timeout}); err != nil {
		t.Fatal(err)
	}
	if st, s := status(); st != "exited" || !strings.HasPrefix(s, "Exited (") {
		t.Errorf("stopped: %s %q", st, s)
	}
	l, err := h.ctr.List(ctx, &agentv1.ListContainersRequest{})
	if err != nil || len(l.Containers) != 0 {
		t.Errorf("ps without -a lists stopped containers: %v %v", l, err)
	}
	info, err := h.sys.Info(ctx, &emptypb.Empty{})
	if err != nil || info.Containers != 1 || info.ContainersStopped != 1 || info.ContainersRunning != 0 {
		t.Errorf("info counts: %v %v", info, err)
	}
}

// isConflict accepts both kinds errgrpc maps a conflict to.
func isConflict(err error) bool {
	err = errgrpc.ToNative(err)
	return errdefs.IsConflict(err) || errdefs.IsFailedPrecondition(err)
}

func TestPruneAndUsage(t *testing.T) {
	h, ctx := setup(t)
	vols := agentv1.NewTTRPCVolumesClient(h.cl)
	for i := 0; i < 2; i++ {
		h.mustCreate(ctx, createOpts{cfg: sh("true"), hc: ctypes.HostConfig{Binds: []string{"used:/v"}}})
		h.run(ctx, createOpts{cfg: sh("true")})
	}
	running := h.mustCreate(ctx, createOpts{cfg: sh("sleep 1000")})
	if _, err := h.ctr.Start(ctx, &agentv1.ContainerRequest{Id: running}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.imgs.Remove(ctx, &agentv1.RemoveImageRequest{Ref: testImage}); err == nil {
		t.Errorf("rmi removed an image containers use")
	}
	if _, err := vols.Remove(ctx, &agentv1.RemoveVolumeRequest{Name: "used"}); err == nil {
		t.Errorf("volume rm removed a volume containers use")
	}
	resp, err := h.ctr.Prune(ctx, &agentv1.PruneRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Deleted) != 4 { // two created, two exited
		t.Errorf("pruned %v, want 4 containers", resp.Deleted)
	}
	l, err := h.ctr.List(ctx, &agentv1.ListContainersRequest{All: true})
	if err != nil || len(l.Containers) != 1 || l.Containers[0].Id != running {
		t.Errorf("after prune: %v %v", l, err)
	}
	if _, err := vols.Remove(ctx, &agentv1.RemoveVolumeRequest{Name: "used"}); err != nil {
		t.Errorf("volume rm after its containers went: %v", err)
	}
}
