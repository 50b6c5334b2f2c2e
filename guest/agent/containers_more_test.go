//go:build linux

package agent

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	ctypes "github.com/moby/moby/api/types/container"
	mtypes "github.com/moby/moby/api/types/mount"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

func (h *harness) start(ctx context.Context, id string) {
	h.t.Helper()
	if _, err := h.ctr.Start(ctx, &agentv1.ContainerRequest{Id: id}); err != nil {
		h.t.Fatalf("start %s: %v", id, err)
	}
}

func TestExec(t *testing.T) {
	h, ctx := setup(t)
	id := h.mustCreate(ctx, createOpts{cfg: sh("sleep 1000")})
	h.start(ctx, id)
	tests := []struct {
		name   string
		cmd    []string
		stdout string
		code   int64
	}{
		{"echo", []string{"sh", "-c", "echo hi; echo oops >&2; exit 4"}, "hi\n", 4},
		{"env", []string{"sh", "-c", "echo $FOO"}, "bar\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _ := json.Marshal(ctypes.ExecCreateRequest{Cmd: tt.cmd, AttachStdout: true, AttachStderr: true, Env: []string{"FOO=bar"}})
			x, err := h.ctr.ExecCreate(ctx, &agentv1.ExecCreateRequest{Id: id, Config: cfg})
			if err != nil {
				t.Fatal(err)
			}
			sid, conn := h.with(t).openData(ctx)
			defer conn.Close()
			if _, err := h.ctr.ExecStart(ctx, &agentv1.ExecStartRequest{ExecId: x.ExecId, StreamId: sid}); err != nil {
				t.Fatal(err)
			}
			out, _, err := demux(conn)
			if err != nil || out != tt.stdout {
				t.Fatalf("exec output %q (%v), want %q", out, err, tt.stdout)
			}
			waitFor(t, "exec exit", func() bool {
				r, err := h.ctr.ExecInspect(ctx, &agentv1.ExecInspectRequest{ExecId: x.ExecId})
				return err == nil && !r.Running && r.ExitCode == tt.code
			})
		})
	}
	_, err := h.ctr.ExecCreate(ctx, &agentv1.ExecCreateRequest{Id: h.mustCreate(ctx, createOpts{cfg: sh("true")}), Config: []byte(`{"Cmd":["true"]}`)})
	if !isConflict(err) {
		t.Errorf("exec in a created container: %v, want conflict", err)
	}
}

func TestLogsFollowAndStats(t *testing.T) {
	h, ctx := setup(t)
	id := h.mustCreate(ctx, createOpts{cfg: sh("for i in 1 2 3; do echo line$i; sleep 0.2; done; echo bye >&2")})
	sid, conn := h.openData(ctx)
	h.start(ctx, id)
	if _, err := h.ctr.Logs(ctx, &agentv1.LogsRequest{Id: id, StreamId: sid, Follow: true, Stdout: true, Stderr: true}); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := demux(conn)
	conn.Close()
	if err != nil || out != "line1\nline2\nline3\n" || errOut != "bye\n" {
		t.Fatalf("logs -f: %q %q %v", out, errOut, err)
	}
	sid, conn = h.openData(ctx)
	if _, err := h.ctr.Logs(ctx, &agentv1.LogsRequest{Id: id, StreamId: sid, Stdout: true, Stderr: true, Tail: "2"}); err != nil {
		t.Fatal(err)
	}
	if out, errOut, _ := demux(conn); out != "line3\n" || errOut != "bye\n" {
		t.Errorf("logs --tail 2: %q %q", out, errOut)
	}
	conn.Close()

	sid2 := h.mustCreate(ctx, createOpts{cfg: sh("sleep 1000")})
	h.start(ctx, sid2)
	st, err := h.ctr.Stats(ctx, &agentv1.StatsRequest{Id: sid2})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := st.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var doc ctypes.StatsResponse
	if err := json.Unmarshal(msg.Json, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.MemoryStats.Usage == 0 || doc.PidsStats.Current == 0 || doc.Read.IsZero() || doc.PreRead.IsZero() {
		t.Errorf("stats: memory %d pids %d read %v preread %v", doc.MemoryStats.Usage, doc.PidsStats.Current, doc.Read, doc.PreRead)
	}
	if _, ok := doc.Networks["eth0"]; !ok {
		t.Errorf("stats: no eth0 counters: %v", doc.Networks)
	}
}

func TestVolumes(t *testing.T) {
	h, ctx := setup(t)
	hc := ctypes.HostConfig{Binds: []string{"data:/data"}}
	if _, _, code := h.run(ctx, createOpts{cfg: sh("echo kept > /data/f"), hc: hc}); code != 0 {
		t.Fatalf("writer exit %d", code)
	}
	if out, _, _ := h.run(ctx, createOpts{cfg: sh("cat /data/f"), hc: hc}); out != "kept\n" {
		t.Errorf("second container reads %q", out)
	}
	// A new volume over an image directory gets the image's files.
	hc = ctypes.HostConfig{Mounts: []mtypes.Mount{{Type: mtypes.TypeVolume, Source: "www", Target: "/www"}}}
	if out, _, _ := h.run(ctx, createOpts{cfg: sh("cat /www/index.html"), hc: hc}); out != "hello from web\n" {
		t.Errorf("copy-up: %q", out)
	}
	// -v /path makes an anonymous volume that rm -v removes.
	id := h.mustCreate(ctx, createOpts{cfg: ctypes.Config{Image: testImage, Cmd: []string{"true"}, Volumes: map[string]struct{}{"/anon": {}}}})
	doc := h.inspect(ctx, id)
	if len(doc.Mounts) != 1 || doc.Mounts[0].Type != "volume" || len(doc.Mounts[0].Name) != 64 {
		t.Fatalf("anonymous mount: %+v", doc.Mounts)
	}
	if _, err := h.ctr.Remove(ctx, &agentv1.RemoveContainerRequest{Id: id, Volumes: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.srv.volumes.Get(ctx, doc.Mounts[0].Name); err == nil {
		t.Errorf("rm -v kept anonymous volume %s", doc.Mounts[0].Name)
	}
}

func TestCopyRoundTrip(t *testing.T) {
	h, ctx := setup(t)
	id := h.mustCreate(ctx, createOpts{cfg: sh("sleep 1000")})
	h.start(ctx, id)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "dir/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "dir/file.txt", Typeflag: tar.TypeReg, Mode: 0o640, Size: 5})
	tw.Write([]byte("12345"))
	tw.Close()
	sid, conn := h.openData(ctx)
	go func() { conn.Write(buf.Bytes()); conn.(interface{ CloseWrite() error }).CloseWrite() }()
	if _, err := h.ctr.CopyTo(ctx, &agentv1.CopyRequest{Id: id, Path: "/tmp", StreamId: sid}); err != nil {
		t.Fatalf("CopyTo: %v", err)
	}
	conn.Close()
	sid, conn = h.openData(ctx)
	st, err := h.ctr.CopyFrom(ctx, &agentv1.CopyRequest{Id: id, Path: "/tmp/dir/file.txt", StreamId: sid})
	if err != nil {
		t.Fatalf("CopyFrom: %v", err)
	}
	if st.Name != "file.txt" || st.Size != 5 {
		t.Errorf("stat: %+v", st)
	}
	tr := tar.NewReader(conn)
	hdr, err := tr.Next()
	if err != nil || hdr.Name != "file.txt" {
		t.Fatalf("tar entry %v %v", hdr, err)
	}
	if b, _ := io.ReadAll(tr); string(b) != "12345" {
		t.Errorf("content %q", b)
	}
	conn.Close()
	sid, conn = h.openData(ctx)
	defer conn.Close()
	if _, err := h.ctr.CopyFrom(ctx, &agentv1.CopyRequest{Id: id, Path: "/../../../etc/shadow-nope", StreamId: sid}); err == nil || !strings.Contains(err.Error(), "Could not find the file") {
		t.Errorf("escape attempt: %v", err)
	}
	ch, err := h.ctr.Changes(ctx, &agentv1.ContainerRequest{Id: id})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range ch.Changes {
		if c.Path == "/tmp/dir/file.txt" && c.Kind == changeAdd {
			found = true
		}
	}
	if !found {
		t.Errorf("changes miss the added file: %v", ch.Changes)
	}
}

func TestCommit(t *testing.T) {
	h, ctx := setup(t)
	if _, _, code := h.run(ctx, createOpts{name: "src", cfg: sh("echo committed > /tmp/new; rm /www/index.html")}); code != 0 {
		t.Fatalf("source container exit %d", code)
	}
	resp, err := h.ctr.Commit(ctx, &agentv1.CommitRequest{Id: "src", Ref: "berth-test/committed:v1", Author: "tester",
		Changes: []string{`CMD ["sh", "-c", "cat /tmp/new; ls /www; echo $GREETING"]`, "ENV GREETING=hi", "LABEL stage=two"}})
	if err != nil {
		t.Fatalf("commit: %v", err)
	}
	if !strings.HasPrefix(resp.ImageId, "sha256:") {
		t.Errorf("image id %q", resp.ImageId)
	}
	out, errOut, code := h.run(ctx, createOpts{cfg: ctypes.Config{Image: "berth-test/committed:v1"}})
	if code != 0 || out != "committed\nhi\n" {
		t.Errorf("run committed image: code %d out %q err %q (want the new file, the deleted one gone, the env)", code, out, errOut)
	}
	if doc := h.inspect(ctx, "src"); doc.State.Status != "exited" {
		t.Errorf("source after commit: %s", doc.State.Status)
	}
	if _, err := h.ctr.Commit(ctx, &agentv1.CommitRequest{Id: "src", Changes: []string{"FROB x"}}); err == nil || !strings.Contains(err.Error(), "FROB is not a valid change command") {
		t.Errorf("bad change: %v", err)
	}
	untagged, err := h.ctr.Commit(ctx, &agentv1.CommitRequest{Id: "src"})
	if err != nil {
		t.Fatalf("untagged commit: %v", err)
	}
	if _, _, code := h.run(ctx, createOpts{cfg: ctypes.Config{Image: untagged.ImageId, Cmd: []string{"cat", "/tmp/new"}}}); code != 0 {
		t.Errorf("run untagged commit by id: exit %d", code)
	}
}

func TestAttachStdin(t *testing.T) {
	h, ctx := setup(t)
	id := h.mustCreate(ctx, createOpts{cfg: ctypes.Config{Image: testImage, Cmd: []string{"cat"}, OpenStdin: true, StdinOnce: true, AttachStdin: true}})
	sid, conn := h.openData(ctx)
	defer conn.Close()
	if _, err := h.ctr.Attach(ctx, &agentv1.AttachContainerRequest{Id: id, StreamId: sid, Stdin: true, Stdout: true, Stderr: true}); err != nil {
		t.Fatal(err)
	}
	h.start(ctx, id)
	if _, err := conn.Write([]byte("from stdin\n")); err != nil {
		t.Fatal(err)
	}
	conn.(interface{ CloseWrite() error }).CloseWrite()
	out, _, err := demux(conn)
	if err != nil || out != "from stdin\n" {
		t.Fatalf("echoed %q (%v)", out, err)
	}
	if w, err := h.ctr.Wait(ctx, &agentv1.WaitContainerRequest{Id: id}); err != nil || w.StatusCode != 0 {
		t.Errorf("wait: %v %v", w, err)
	}
}

func TestEvents(t *testing.T) {
	h, ctx := setup(t)
	ectx, cancel := context.WithCancel(ctx)
	defer cancel()
	ev, err := h.sys.Events(ectx, &agentv1.EventsRequest{Types: []string{"container"}})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let the subscription register
	h.run(ctx, createOpts{name: "ev", cfg: sh("exit 2")})
	if _, err := h.ctr.Remove(ctx, &agentv1.RemoveContainerRequest{Id: "ev"}); err != nil {
		t.Fatal(err)
	}
	want := []string{"create", "start", "die", "destroy"}
	var got []string
	for len(got) < len(want) {
		e, err := ev.Recv()
		if err != nil {
			t.Fatalf("events so far %v: %v", got, err)
		}
		if e.Attributes["name"] != "ev" {
			continue
		}
		got = append(got, e.Action)
		if e.Action == "die" && e.Attributes["exitCode"] != "2" {
			t.Errorf("die event exitCode %q", e.Attributes["exitCode"])
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("events %v, want %v", got, want)
	}
}
