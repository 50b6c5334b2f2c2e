//go:build linux

package agent_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/containerd/ttrpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/berth-dev/berth/guest/agent"
	"github.com/berth-dev/berth/guest/internal/testenv"
	"github.com/berth-dev/berth/internal/testimage"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
	"github.com/berth-dev/berth/proto/stream"
)

// Environment of a test binary re-executed as a standalone agent.
const (
	envAgentDir    = "BERTH_IMAGES_TEST_AGENT_DIR"
	envAgentSocket = "BERTH_IMAGES_TEST_AGENT_SOCKET"
)

// init turns the test binary into an agent when re-executed by
// startAgentProcess (an init, not a TestMain, so the package's other tests
// keep their own).
func init() {
	dir, sock := os.Getenv(envAgentDir), os.Getenv(envAgentSocket)
	if dir == "" || sock == "" {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := agent.Run(ctx, agent.Options{DataDir: dir}, agent.Listen{Socket: sock}); err != nil {
		os.Stderr.WriteString("agent: " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Exit(0)
}

// client is a test connection to an agent.
type client struct {
	dial  stream.Dial
	imgCl agentv1.TTRPCImagesClient
	sysCl agentv1.TTRPCSystemClient
}

func connect(t *testing.T, sock string) *client {
	t.Helper()
	dial := func() (net.Conn, error) { return net.Dial("unix", sock) }
	var conn net.Conn
	var err error
	for i := 0; i < 200; i++ { // the agent may still be starting
		if conn, err = stream.Open(dial, stream.Header{Kind: stream.KindTTRPC}); err == nil {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("connect to agent at %s: %v", sock, err)
	}
	cl := ttrpc.NewClient(conn)
	t.Cleanup(func() { cl.Close() })
	return &client{dial: dial, imgCl: agentv1.NewTTRPCImagesClient(cl), sysCl: agentv1.NewTTRPCSystemClient(cl)}
}

// startInProcess serves a fresh agent on a unix socket in this process.
func startInProcess(t *testing.T) *client {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	sock := filepath.Join(dir, "agent.sock")
	go func() {
		done <- agent.Run(ctx, agent.Options{DataDir: filepath.Join(dir, "data")}, agent.Listen{Socket: sock})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent.Run: %v", err)
		}
	})
	return connect(t, sock)
}

// pull runs Images.Pull to the end and returns its messages.
func (c *client) pull(ctx context.Context, ref string) ([]*agentv1.PullProgress, error) {
	st, err := c.imgCl.Pull(ctx, &agentv1.PullRequest{Ref: ref})
	if err != nil {
		return nil, errgrpc.ToNative(err)
	}
	var out []*agentv1.PullProgress
	for {
		m, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, errgrpc.ToNative(err)
		}
		out = append(out, m)
	}
}

// openData reserves a data stream and dials it.
func (c *client) openData(t *testing.T, ctx context.Context) (string, net.Conn) {
	t.Helper()
	r, err := c.sysCl.OpenStream(ctx, &emptypb.Empty{})
	if err != nil {
		t.Fatalf("OpenStream: %v", err)
	}
	conn, err := stream.Open(c.dial, stream.Header{Kind: stream.KindData, ID: r.Id})
	if err != nil {
		t.Fatalf("dial data stream: %v", err)
	}
	return r.Id, conn
}

func TestImagesServiceEndToEnd(t *testing.T) {
	testenv.RequiresRoot(t)
	ctx := context.Background()
	reg := testimage.Registry(t)
	img := testimage.BusyboxImage(t, nil)
	testimage.Push(t, reg+"/e2e/busybox:1", img)
	wantID, _ := img.ConfigName()
	c := startInProcess(t)

	msgs, err := c.pull(ctx, reg+"/e2e/busybox:1")
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	last := msgs[len(msgs)-1]
	if !last.Done || last.ImageId != wantID.String() || last.Ref != reg+"/e2e/busybox:1" {
		t.Fatalf("last pull message %+v, want done with id %s", last, wantID)
	}
	if !hasStatus(msgs, "Pull complete") || !hasStatus(msgs, "Status: Downloaded newer image for "+reg+"/e2e/busybox:1") {
		t.Errorf("pull progress lacks docker's lines: %v", msgs)
	}
	if _, err := c.imgCl.Tag(ctx, &agentv1.TagImageRequest{Source: reg + "/e2e/busybox:1", Target: "mybox:2"}); err != nil {
		t.Fatalf("Tag: %v", err)
	}
	list, err := c.imgCl.List(ctx, &agentv1.ListImagesRequest{})
	if err != nil || len(list.Images) != 1 || len(list.Images[0].RepoTags) != 2 {
		t.Fatalf("List = %v, %v; want one image with two tags", list, err)
	}
	ins, err := c.imgCl.Inspect(ctx, &agentv1.InspectImageRequest{Ref: "mybox:2"})
	if err != nil || ins.Image.Id != wantID.String() || len(ins.ChainIds) != 1 || !bytes.Contains(ins.Config, []byte(`"diff_ids"`)) || len(ins.Manifest) == 0 {
		t.Fatalf("Inspect = %v, %v", ins, err)
	}
	_, err = c.imgCl.Inspect(ctx, &agentv1.InspectImageRequest{Ref: "nosuch"})
	if err = errgrpc.ToNative(err); !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "No such image: nosuch:latest") {
		t.Errorf("Inspect(nosuch) = %v, want not found", err)
	}

	// Save to a data stream, remove, load it back.
	id, conn := c.openData(t, ctx)
	saved := make(chan []byte, 1)
	go func() { b, _ := io.ReadAll(conn); conn.Close(); saved <- b }()
	if _, err := c.imgCl.Save(ctx, &agentv1.SaveImageRequest{Refs: []string{"mybox:2"}, StreamId: id}); err != nil {
		t.Fatalf("Save: %v", err)
	}
	tarball := <-saved
	if len(tarball) < 1<<20 {
		t.Fatalf("saved tarball is %d bytes, want at least busybox's size", len(tarball))
	}
	rm, err := c.imgCl.Remove(ctx, &agentv1.RemoveImageRequest{Ref: wantID.String()[7:19], Force: true})
	if err != nil || len(rm.Items) != 4 || rm.Items[3].Deleted != wantID.String() {
		t.Fatalf("Remove by id = %v, %v; want two tags and a digest untagged, then a delete", rm, err)
	}
	id, conn = c.openData(t, ctx)
	go func() { conn.Write(tarball); conn.(*net.UnixConn).CloseWrite() }()
	loaded, err := c.imgCl.Load(ctx, &agentv1.LoadImageRequest{StreamId: id})
	conn.Close()
	if err != nil || len(loaded.Loaded) != 1 || loaded.Loaded[0] != "Loaded image: mybox:2" {
		t.Fatalf("Load = %v, %v; want Loaded image: mybox:2", loaded, err)
	}
	pr, err := c.imgCl.Prune(ctx, &agentv1.PruneImagesRequest{All: true})
	if err != nil || len(pr.Deleted) != 2 || pr.SpaceReclaimed == 0 {
		t.Errorf("Prune -a = %v, %v; want the image untagged, deleted and space reclaimed", pr, err)
	}
	info, err := c.sysCl.Info(ctx, &emptypb.Empty{})
	if err != nil || info.Images != 0 {
		t.Errorf("Info.Images = %v, %v; want 0", info.GetImages(), err)
	}
}

func hasStatus(msgs []*agentv1.PullProgress, prefix string) bool {
	for _, m := range msgs {
		if strings.HasPrefix(m.Status, prefix) {
			return true
		}
	}
	return false
}

func TestPullRegistryDownOverTTRPC(t *testing.T) {
	c := startInProcess(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = c.pull(context.Background(), addr+"/x/y")
	if !errdefs.IsUnavailable(err) || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("pull from a stopped registry: %v, want unavailable", err)
	}
	_, err = c.pull(context.Background(), "Not/Valid")
	if !errdefs.IsInvalidArgument(err) {
		t.Errorf("pull of a malformed ref: %v, want invalid argument", err)
	}
}
