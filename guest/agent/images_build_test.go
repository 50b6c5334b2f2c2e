//go:build linux

package agent

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	ctypes "github.com/moby/moby/api/types/container"

	"github.com/berth-dev/berth/internal/testimage"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// build sends files as the build context and returns the builder's output
// and the image id.
func (h *harness) build(ctx context.Context, files map[string]string, req *agentv1.BuildRequest) (string, string, error) {
	h.t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, k := range sortedKeys(files) {
		mode := int64(0o644)
		if k == "busybox" {
			mode = 0o755
		}
		tw.WriteHeader(&tar.Header{Name: k, Typeflag: tar.TypeReg, Mode: mode, Size: int64(len(files[k]))})
		tw.Write([]byte(files[k]))
	}
	tw.Close()
	id, conn := h.openData(ctx)
	go func() {
		_, _ = io.Copy(conn, &buf)
		conn.Close()
	}()
	req.ContextStreamId = id
	st, err := h.imgs.Build(ctx, req)
	if err != nil {
		return "", "", err
	}
	var out strings.Builder
	for {
		m, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return out.String(), "", errors.New("build stream ended without an image id")
		}
		if err != nil {
			return out.String(), "", err
		}
		out.WriteString(m.Stream)
		if m.ImageId != "" {
			return out.String(), m.ImageId, nil
		}
	}
}

func (h *harness) mustBuild(ctx context.Context, files map[string]string, req *agentv1.BuildRequest) (string, string) {
	h.t.Helper()
	out, id, err := h.build(ctx, files, req)
	if err != nil {
		h.t.Fatalf("build: %v\noutput:\n%s", err, out)
	}
	return out, id
}

// imageConfig returns an image's config.
func (h *harness) imageConfig(ctx context.Context, ref string) *v1.ConfigFile {
	h.t.Helper()
	resp, err := h.imgs.Inspect(ctx, &agentv1.InspectImageRequest{Ref: ref})
	if err != nil {
		h.t.Fatalf("inspect %s: %v", ref, err)
	}
	var cf v1.ConfigFile
	if err := json.Unmarshal(resp.Config, &cf); err != nil {
		h.t.Fatal(err)
	}
	return &cf
}

const multiStage = `FROM busybox AS b
RUN echo hi > /x
FROM busybox
COPY --from=b /x /y
COPY a.txt /app/
ENV GREETING=hello
WORKDIR /app
CMD ["cat", "/y"]
`

func TestBuild(t *testing.T) {
	env := newTestEnv(t)
	h := env.start(t)
	defer h.cleanupAll()
	ctx := context.Background()
	h.loadImage(ctx, "busybox:latest", nil)
	files := map[string]string{"Dockerfile": multiStage, "a.txt": "one\n"}

	out, id := h.mustBuild(ctx, files, &agentv1.BuildRequest{Tags: []string{"x"}})
	t.Logf("first build:\n%s", out)
	for _, want := range []string{"Step 1/8 : FROM busybox AS b\n", " ---> Running in ", "Removing intermediate container ",
		"Step 4/8 : COPY --from=b /x /y\n", "Successfully built " + id[7:19] + "\n", "Successfully tagged x:latest\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Using cache") {
		t.Errorf("first build used the cache:\n%s", out)
	}
	t.Run("runs", func(t *testing.T) {
		h := h.with(t)
		if o, _, code := h.run(ctx, createOpts{cfg: ctypes.Config{Image: "x"}}); o != "hi\n" || code != 0 {
			t.Errorf("run x = %q (exit %d), want hi", o, code)
		}
		o, _, _ := h.run(ctx, createOpts{cfg: ctypes.Config{Image: "x", Cmd: []string{"sh", "-c", "cat a.txt; echo $GREETING; pwd"}}})
		if o != "one\nhello\n/app\n" {
			t.Errorf("run x sh = %q", o)
		}
		cf := h.imageConfig(ctx, "x")
		if cf.Config.WorkingDir != "/app" || strings.Join(cf.Config.Cmd, " ") != "cat /y" {
			t.Errorf("config: workdir %q cmd %q", cf.Config.WorkingDir, cf.Config.Cmd)
		}
		var created []string
		for _, hi := range cf.History {
			created = append(created, hi.CreatedBy)
		}
		all := strings.Join(created, "\n")
		for _, want := range []string{`/bin/sh -c #(nop)  CMD ["cat" "/y"]`, "/bin/sh -c #(nop) WORKDIR /app", "/bin/sh -c #(nop)  ENV GREETING=hello", "/bin/sh -c #(nop) COPY file:"} {
			if !strings.Contains(all, want) {
				t.Errorf("history lacks %q:\n%s", want, all)
			}
		}
	})
	t.Run("intermediate images hidden", func(t *testing.T) {
		h := h.with(t)
		for _, all := range []bool{false, true} {
			l, err := h.imgs.List(ctx, &agentv1.ListImagesRequest{All: all})
			if err != nil {
				t.Fatal(err)
			}
			untagged := 0
			for _, img := range l.Images {
				if len(img.RepoTags) == 0 {
					untagged++
				}
			}
			// Without -a only stage b's result is listed untagged (a leaf,
			// dangling as in docker); with -a every step's image is.
			if want := 1; (!all && untagged != want) || (all && untagged <= want) {
				t.Errorf("images (all=%v): %d untagged listed", all, untagged)
			}
		}
	})
	t.Run("cache", func(t *testing.T) {
		h := h.with(t)
		out2, id2 := h.mustBuild(ctx, files, &agentv1.BuildRequest{Tags: []string{"x"}})
		if n := strings.Count(out2, " ---> Using cache\n"); n != 6 || id2 != id {
			t.Errorf("second build: %d steps from cache (want 6), id %s (want %s):\n%s", n, id2, id, out2)
		}
		if strings.Contains(out2, "Running in") {
			t.Errorf("second build ran a container:\n%s", out2)
		}
	})
	t.Run("changed file", func(t *testing.T) {
		h := h.with(t)
		changed := map[string]string{"Dockerfile": multiStage, "a.txt": "two\n"}
		out3, id3 := h.mustBuild(ctx, changed, &agentv1.BuildRequest{})
		if n := strings.Count(out3, " ---> Using cache\n"); n != 2 || id3 == id {
			t.Errorf("changed a.txt: %d steps from cache (want 2: RUN and COPY --from), id %s:\n%s", n, id3, out3)
		}
	})
	t.Run("no-cache", func(t *testing.T) {
		h := h.with(t)
		out4, id4 := h.mustBuild(ctx, files, &agentv1.BuildRequest{NoCache: true})
		if strings.Contains(out4, "Using cache") || id4 == id {
			t.Errorf("--no-cache: id %s (first %s):\n%s", id4, id, out4)
		}
	})
}

func TestBuildFailures(t *testing.T) {
	env := newTestEnv(t)
	h := env.start(t)
	defer h.cleanupAll()
	ctx := context.Background()
	h.loadImage(ctx, "busybox:latest", nil)
	for _, tc := range []struct {
		name, dockerfile, want string
	}{
		{"run", "FROM busybox\nRUN exit 3\n", "The command '/bin/sh -c exit 3' returned a non-zero code: 3"},
		{"exec form", "FROM busybox\nRUN [\"false\"]\n", "The command 'false' returned a non-zero code: 1"},
		{"missing file", "FROM busybox\nCOPY nope /\n", "COPY failed: file not found in build context or excluded by .dockerignore: stat nope"},
		{"ignored file", "FROM busybox\nCOPY secret.txt /\n", "file not found in build context or excluded by .dockerignore"},
		{"unknown instruction", "FROM busybox\nFOO bar\n", "unknown instruction: FOO"},
		{"target", "FROM busybox AS a\n", "failed to reach build target nope in Dockerfile"},
		{"add url", "FROM busybox\nADD http://127.0.0.1:9/x /x\n", "not supported"},
		{"no base", "FROM 127.0.0.1:1/nothing\n", "127.0.0.1:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := h.with(t)
			files := map[string]string{"Dockerfile": tc.dockerfile, ".dockerignore": "secret.txt\n", "secret.txt": "s"}
			req := &agentv1.BuildRequest{}
			if tc.name == "target" {
				req.Target = "nope"
			}
			out, _, err := h.build(ctx, files, req)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q\noutput:\n%s", err, tc.want, out)
			}
		})
	}
	l, err := h.ctr.List(ctx, &agentv1.ListContainersRequest{All: true})
	if err != nil || len(l.Containers) != 0 {
		t.Errorf("containers left after failed builds: %v %v", l, err)
	}
}

func TestBuildContextAndArgs(t *testing.T) {
	env := newTestEnv(t)
	h := env.start(t)
	defer h.cleanupAll()
	ctx := context.Background()
	h.loadImage(ctx, "busybox:latest", nil)
	var arch bytes.Buffer
	tw := tar.NewWriter(&arch)
	tw.WriteHeader(&tar.Header{Name: "inner/f.txt", Typeflag: tar.TypeReg, Mode: 0o644, Size: 6})
	tw.Write([]byte("inner\n"))
	tw.Close()
	files := map[string]string{
		"Dockerfile": `ARG BASE=busybox
FROM ${BASE}
ARG WHO=world
COPY . /ctx/
ADD a.tar /t/
COPY --chown=nobody:nogroup keep.txt /owned/
RUN echo hello $WHO > /who && echo visible-output
LABEL from=dockerfile
USER nobody
EXPOSE 8080
`,
		".dockerignore": "secret.txt\n*.md\n",
		"keep.txt":      "k", "secret.txt": "s", "notes.md": "n", "a.tar": arch.String(),
	}
	out, _ := h.mustBuild(ctx, files, &agentv1.BuildRequest{
		Tags: []string{"args:1"}, BuildArgs: map[string]string{"WHO": "berth", "UNUSED": "1"}, Labels: map[string]string{"cli": "yes"},
		Network: "none",
	})
	if !strings.Contains(out, "\nvisible-output\n") {
		t.Errorf("RUN output not streamed:\n%s", out)
	}
	if !strings.Contains(out, "[Warning] One or more build-args [UNUSED] were not consumed") {
		t.Errorf("no warning for the unused build arg:\n%s", out)
	}
	o, _, _ := h.run(ctx, createOpts{cfg: ctypes.Config{Image: "args:1", Cmd: []string{"sh", "-c", "ls -A /ctx; cat /who /t/inner/f.txt; busybox id -u; busybox stat -c %u:%g /owned/keep.txt /owned"}}})
	want := ".dockerignore\nDockerfile\na.tar\nkeep.txt\nhello berth\ninner\n65534\n65534:65534\n65534:65534\n"
	if o != want {
		t.Errorf("image contents:\n%s\nwant:\n%s", o, want)
	}
	cf := h.imageConfig(ctx, "args:1")
	if cf.Config.Labels["from"] != "dockerfile" || cf.Config.Labels["cli"] != "yes" || cf.Config.User != "nobody" {
		t.Errorf("config: labels %v user %q", cf.Config.Labels, cf.Config.User)
	}
	if _, ok := cf.Config.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("config: exposed %v", cf.Config.ExposedPorts)
	}
	found := false
	for _, hi := range cf.History {
		found = found || hi.CreatedBy == "|1 WHO=berth /bin/sh -c echo hello $WHO > /who && echo visible-output"
	}
	if !found {
		t.Errorf("no RUN history entry with the build arg: %+v", cf.History)
	}
}

func TestBuildFromScratch(t *testing.T) {
	env := newTestEnv(t)
	h := env.start(t)
	defer h.cleanupAll()
	ctx := context.Background()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"busybox": string(bb), "Dockerfile": `FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "mkdir", "-p", "/made"]
WORKDIR /w
CMD ["/bin/busybox", "ls", "/"]
`}
	out, _ := h.mustBuild(ctx, files, &agentv1.BuildRequest{Tags: []string{"scratchy"}})
	o, _, code := h.run(ctx, createOpts{cfg: ctypes.Config{Image: "scratchy"}})
	if code != 0 || !strings.Contains(o, "made\n") || !strings.Contains(o, "w\n") || !strings.Contains(o, "bin\n") {
		t.Errorf("ls / in the built image (exit %d):\n%s\nbuild:\n%s", code, o, out)
	}
	cf := h.imageConfig(ctx, "scratchy")
	if len(cf.RootFS.DiffIDs) != 3 || !hasEnvEntry(cf.Config.Env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") {
		t.Errorf("want 3 layers (COPY, RUN, WORKDIR) and docker's default PATH: %d layers, env %v", len(cf.RootFS.DiffIDs), cf.Config.Env)
	}
	// The RUN layer holds what the command made, not the runtime's mount
	// points (/etc/hosts, /proc, ...).
	resp, err := h.imgs.Inspect(ctx, &agentv1.InspectImageRequest{Ref: "scratchy"})
	if err != nil {
		t.Fatal(err)
	}
	lowers, err := h.srv.images.store.Snapshots().LowerDirs(resp.ChainIds[:2])
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{"made": true, "etc/hosts": false, "etc/resolv.conf": false, "proc": false, "sys": false} {
		if _, err := os.Lstat(filepath.Join(lowers[0], p)); (err == nil) != want {
			t.Errorf("RUN layer has %s: %v, want %v", p, err == nil, want)
		}
	}
}

func hasEnvEntry(env []string, kv string) bool {
	for _, e := range env {
		if e == kv {
			return true
		}
	}
	return false
}

func TestBuildPull(t *testing.T) {
	env := newTestEnv(t)
	h := env.start(t)
	defer h.cleanupAll()
	ctx := context.Background()
	ref := testimage.Registry(t) + "/t/base:1"
	pushImage := func(extra map[string]string) { testimage.Push(t, ref, busyboxImage(t, extra)) }
	pushImage(nil)
	files := map[string]string{"Dockerfile": "FROM " + ref + "\nRUN echo step > /s\n"}
	out, id := h.mustBuild(ctx, files, &agentv1.BuildRequest{})
	if !strings.Contains(out, "Pull complete") {
		t.Errorf("FROM of a missing image must pull it:\n%s", out)
	}
	out, id2 := h.mustBuild(ctx, files, &agentv1.BuildRequest{})
	if strings.Contains(out, "Pull") || id2 != id {
		t.Errorf("second build must use the stored base and the cache:\n%s", out)
	}
	pushImage(map[string]string{"etc/new": "1"})
	out, id3 := h.mustBuild(ctx, files, &agentv1.BuildRequest{})
	if id3 != id {
		t.Errorf("without --pull the stored base is used:\n%s", out)
	}
	out, id4 := h.mustBuild(ctx, files, &agentv1.BuildRequest{Pull: true})
	if !strings.Contains(out, "Pull complete") || strings.Contains(out, "Using cache") || id4 == id {
		t.Errorf("--pull must fetch the new base and rebuild on it:\n%s", out)
	}
}
