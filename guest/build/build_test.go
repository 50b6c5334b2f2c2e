//go:build linux

package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	bolt "go.etcd.io/bbolt"
)

// fakeEngine keeps images in memory: enough for config-only steps.
type fakeEngine struct {
	t      *testing.T
	images map[string]*v1.ConfigFile // by id and by name
	tags   map[string]string
}

func newFakeEngine(t *testing.T) *fakeEngine {
	return &fakeEngine{t: t, images: map[string]*v1.ConfigFile{}, tags: map[string]string{}}
}

func (f *fakeEngine) add(name string, cf *v1.ConfigFile) string {
	id, _ := f.Commit(context.Background(), "", "", cf)
	f.images[name] = cf
	return id
}

func (f *fakeEngine) Image(_ context.Context, ref, _ string, _ bool, _ io.Writer) (string, *v1.ConfigFile, error) {
	cf, ok := f.images[ref]
	if !ok {
		return "", nil, fmt.Errorf("No such image: %s: %w", ref, errdefs.ErrNotFound)
	}
	b, _ := json.Marshal(cf)
	return idOf(b), cf.DeepCopy(), nil
}

func (f *fakeEngine) Config(ctx context.Context, id string) (*v1.ConfigFile, error) {
	_, cf, err := f.Image(ctx, id, "", false, nil)
	return cf, err
}

func (f *fakeEngine) Create(context.Context, string, RunSpec) (Container, error) {
	return nil, errors.New("the fake engine runs no containers")
}

func (f *fakeEngine) View(context.Context, string) (string, func(), error) {
	d, err := os.MkdirTemp(f.t.TempDir(), "view")
	return d, func() {}, err
}

func (f *fakeEngine) Commit(_ context.Context, _, _ string, cf *v1.ConfigFile) (string, error) {
	b, _ := json.Marshal(cf)
	id := idOf(b)
	f.images[id] = cf.DeepCopy()
	return id, nil
}

func (f *fakeEngine) Tag(_ context.Context, id, ref string) (string, error) {
	f.tags[ref] = id
	return ref, nil
}

func idOf(b []byte) string {
	h := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(h[:])
}

func newTestBuilder(t *testing.T, eng Engine) *Builder {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "meta.db"), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	b, err := New(db, eng, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const configDockerfile = `FROM base
ARG V=1.0
ENV APP=/opt/app VERSION=$V
LABEL version=$VERSION
USER nobody
EXPOSE 80 ${DNS:-53}/udp
VOLUME /data
STOPSIGNAL SIGQUIT
SHELL ["/bin/bash", "-c"]
HEALTHCHECK --interval=5s CMD true
ONBUILD RUN echo child
CMD run it
ENTRYPOINT ["/entry"]
`

func TestConfigSteps(t *testing.T) {
	eng := newFakeEngine(t)
	eng.add("base", &v1.ConfigFile{OS: "linux", Architecture: "amd64", Config: v1.Config{Env: []string{"PATH=/bin"}, Cmd: []string{"sh"}}})
	b := newTestBuilder(t, eng)
	ctx := context.Background()
	var out strings.Builder
	id, err := b.Build(ctx, Options{ContextDir: t.TempDir(), DockerfileContent: []byte(configDockerfile), Tags: []string{"app:1"}}, &out)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out.String())
	}
	cf := eng.images[id]
	c := cf.Config
	if strings.Join(c.Env, ",") != "PATH=/bin,APP=/opt/app,VERSION=1.0" || c.Labels["version"] != "1.0" || c.User != "nobody" ||
		c.StopSignal != "SIGQUIT" || strings.Join(c.Cmd, "|") != "/bin/bash|-c|run it" || strings.Join(c.Entrypoint, "|") != "/entry" ||
		strings.Join(c.OnBuild, "|") != "RUN echo child" || c.Healthcheck == nil || c.Healthcheck.Interval != 5*time.Second {
		t.Errorf("config: %+v", c)
	}
	if _, ok := c.ExposedPorts["53/udp"]; !ok || len(c.ExposedPorts) != 2 || len(c.Volumes) != 1 {
		t.Errorf("ports %v volumes %v", c.ExposedPorts, c.Volumes)
	}
	var hist []string
	for _, h := range cf.History {
		if !h.EmptyLayer {
			t.Errorf("config-only step %q recorded a layer", h.CreatedBy)
		}
		hist = append(hist, h.CreatedBy)
	}
	for _, want := range []string{"/bin/sh -c #(nop)  ARG V=1.0", "/bin/sh -c #(nop)  ENV APP=/opt/app VERSION=1.0",
		`/bin/sh -c #(nop)  CMD ["/bin/bash" "-c" "run it"]`, "/bin/sh -c #(nop)  EXPOSE 53/udp 80/tcp", "/bin/sh -c #(nop)  VOLUME [/data]"} {
		if !strings.Contains(strings.Join(hist, "\n"), want) {
			t.Errorf("history lacks %q:\n%s", want, strings.Join(hist, "\n"))
		}
	}
	if eng.tags["app:1"] != id || !strings.HasSuffix(out.String(), "Successfully built "+shortID(id)+"\nSuccessfully tagged app:1\n") {
		t.Errorf("tags %v output:\n%s", eng.tags, out.String())
	}

	t.Run("cache", func(t *testing.T) {
		var again strings.Builder
		id2, err := b.Build(ctx, Options{ContextDir: t.TempDir(), DockerfileContent: []byte(configDockerfile)}, &again)
		if err != nil || id2 != id || strings.Count(again.String(), " ---> Using cache\n") != 12 {
			t.Errorf("rebuild: id %s (want %s), %v:\n%s", id2, id, err, again.String())
		}
	})
	t.Run("build arg invalidates from its use", func(t *testing.T) {
		var o strings.Builder
		id3, err := b.Build(ctx, Options{ContextDir: t.TempDir(), DockerfileContent: []byte(configDockerfile), BuildArgs: map[string]string{"V": "2.0"}}, &o)
		if err != nil || id3 == id || strings.Count(o.String(), " ---> Using cache\n") != 1 {
			t.Errorf("build with V=2.0: id %s, %v:\n%s", id3, err, o.String())
		}
		if got := eng.images[id3].Config.Labels["version"]; got != "2.0" {
			t.Errorf("label version = %q", got)
		}
	})
}

func TestFromStagesAndTriggers(t *testing.T) {
	eng := newFakeEngine(t)
	eng.add("base", &v1.ConfigFile{OS: "linux", Config: v1.Config{Env: []string{"PATH=/bin"}, OnBuild: []string{"ENV FROM_TRIGGER=1"}}})
	b := newTestBuilder(t, eng)
	df := "ARG BASE=base\nFROM $BASE AS first\nENV A=1\nFROM first\nARG BASE\nENV B=$BASE\n"
	var out strings.Builder
	id, err := b.Build(context.Background(), Options{ContextDir: t.TempDir(), DockerfileContent: []byte(df)}, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	c := eng.images[id].Config
	if strings.Join(c.Env, ",") != "PATH=/bin,FROM_TRIGGER=1,A=1,B=base" || len(c.OnBuild) != 0 {
		t.Errorf("env %v onbuild %v", c.Env, c.OnBuild)
	}
	if !strings.Contains(out.String(), "# Executing 1 build trigger\n") || !strings.HasPrefix(out.String(), "Step 1/6 : ARG BASE=base\n") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestEntrypointResetsInheritedCmd(t *testing.T) {
	for _, tc := range []struct{ df, cmd string }{
		{"FROM base\nENTRYPOINT [\"/e\"]\n", ""},
		{"FROM base\nCMD [\"own\"]\nENTRYPOINT [\"/e\"]\n", "own"},
	} {
		eng := newFakeEngine(t)
		eng.add("base", &v1.ConfigFile{OS: "linux", Config: v1.Config{Cmd: []string{"inherited"}}})
		id, err := newTestBuilder(t, eng).Build(context.Background(), Options{ContextDir: t.TempDir(), DockerfileContent: []byte(tc.df)}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(eng.images[id].Config.Cmd, " "); got != tc.cmd {
			t.Errorf("%q: Cmd = %q, want %q", tc.df, got, tc.cmd)
		}
	}
}

func TestBuildErrors(t *testing.T) {
	for _, tc := range []struct{ name, df, want string }{
		{"run on scratch", "FROM scratch\nRUN true\n", "FROM scratch has no command to run"},
		{"run mount", "FROM base\nRUN --mount=type=cache,target=/x true\n", "requires BuildKit"},
		{"copy chmod", "FROM base\nCOPY --chmod=644 a /\n", "requires BuildKit"},
		{"copy outside", "FROM base\nCOPY ../x /\n", "forbidden path outside the build context"},
		{"copy many to file", "FROM base\nCOPY a b /dst\n", "the destination must be a directory and end with a /"},
		{"no such base", "FROM nope\n", "No such image: nope"},
		{"empty volume", "FROM base\nVOLUME [\"\"]\n", "VOLUME specified can not be an empty string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng := newFakeEngine(t)
			eng.add("base", &v1.ConfigFile{OS: "linux"})
			ctxDir := t.TempDir()
			for _, f := range []string{"a", "b"} {
				os.WriteFile(filepath.Join(ctxDir, f), []byte(f), 0o644)
			}
			_, err := newTestBuilder(t, eng).Build(context.Background(), Options{ContextDir: ctxDir, DockerfileContent: []byte(tc.df)}, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
	t.Run("missing Dockerfile", func(t *testing.T) {
		_, err := newTestBuilder(t, newFakeEngine(t)).Build(context.Background(), Options{ContextDir: t.TempDir()}, io.Discard)
		if err == nil || !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "Cannot locate specified Dockerfile: Dockerfile") {
			t.Errorf("err = %v", err)
		}
	})
}
