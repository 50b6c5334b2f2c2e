package client

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
)

func TestWriteContextTar(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"Dockerfile": "FROM x\n", ".dockerignore": "*.log\nsecret/\nDockerfile\n!keep.log\n",
		"a.txt": "a", "b.log": "b", "keep.log": "k", "secret/s": "s", "sub/c.txt": "c",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := writeContextTar(&buf, dir, "Dockerfile"); err != nil {
		t.Fatal(err)
	}
	var names []string
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s owned by %d:%d, want root", h.Name, h.Uid, h.Gid)
		}
		names = append(names, h.Name)
	}
	sort.Strings(names)
	want := ".dockerignore Dockerfile a.txt keep.log sub/ sub/c.txt"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("context = %s\nwant      %s", got, want)
	}
}

func TestBuildRequest(t *testing.T) {
	t.Setenv("FROM_ENV", "env-value")
	req, err := buildRequest(buildOptions{
		buildArgs: []string{"A=1", "B=", "FROM_ENV", "UNSET_ARG_XYZ", "C=x=y"},
		labels:    []string{"k=v", "flag"}, tags: []string{"a:1", "b"}, network: "none",
	})
	if err != nil {
		t.Fatal(err)
	}
	args := req.BuildArgs
	if len(args) != 4 || args["A"] != "1" || args["B"] != "" || args["FROM_ENV"] != "env-value" || args["C"] != "x=y" {
		t.Errorf("build args %v", args)
	}
	if _, ok := args["UNSET_ARG_XYZ"]; ok {
		t.Error("an unset --build-arg NAME without value must be left out")
	}
	if req.Labels["k"] != "v" || req.Labels["flag"] != "" || req.Network != "none" || len(req.Tags) != 2 {
		t.Errorf("request %+v", req)
	}
	if _, err := buildRequest(buildOptions{buildArgs: []string{"=x"}}); err == nil {
		t.Error("an empty --build-arg name must fail")
	}
}

func TestBuildError(t *testing.T) {
	ctx := context.Background()
	runErr := errgrpc.ToGRPC(errors.New("The command '/bin/sh -c exit 3' returned a non-zero code: 3"))
	for _, tc := range []struct {
		name    string
		err     error
		started bool
		code    int
		msg     string
	}{
		{"failed RUN", runErr, true, 3, "The command '/bin/sh -c exit 3' returned a non-zero code: 3"},
		{"failed COPY", errgrpc.ToGRPC(errors.New("COPY failed: no source files were specified")), true, 1, "COPY failed: no source files were specified"},
		{"before the build", errgrpc.ToGRPC(errdefs.ErrInvalidArgument.WithMessage("dockerfile parse error on line 2: unknown instruction: FOO")), false, 1,
			"Error response from daemon: dockerfile parse error on line 2: unknown instruction: FOO"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			code := printError(&out, (&cli{}).newBuildCommand(), buildError(ctx, &out, tc.err, tc.started))
			if code != tc.code || strings.TrimSpace(out.String()) != tc.msg {
				t.Errorf("exit %d %q, want %d %q", code, out.String(), tc.code, tc.msg)
			}
		})
	}
}

func TestContextHelpers(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{{0, "0B"}, {999, "999B"}, {2048, "2.048kB"}, {1500000, "1.5MB"}} {
		if got := humanBytes(tc.n); got != tc.want {
			t.Errorf("humanBytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
	var tarball bytes.Buffer
	tw := tar.NewWriter(&tarball)
	tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: 0})
	tw.Close()
	if !isArchive(tarball.Bytes()) || !isArchive([]byte{0x1f, 0x8b, 8}) || isArchive([]byte("FROM busybox\n")) {
		t.Error("isArchive misdetects tar, gzip or a Dockerfile")
	}
}

func TestBuildContextSources(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "sub", "Dockerfile.dev"), []byte("FROM a\n"), 0o644)
	outside := filepath.Join(t.TempDir(), "Other.Dockerfile")
	os.WriteFile(outside, []byte("FROM b\n"), 0o644)
	c := &cli{in: strings.NewReader("FROM c\n")}
	for _, tc := range []struct {
		name    string
		o       buildOptions
		dfName  string
		content string
		err     string
	}{
		{name: "-f inside the context", o: buildOptions{context: dir, file: filepath.Join(dir, "sub", "Dockerfile.dev")}, dfName: "sub/Dockerfile.dev"},
		{name: "-f outside the context", o: buildOptions{context: dir, file: outside}, dfName: "Dockerfile", content: "FROM b\n"},
		{name: "no Dockerfile", o: buildOptions{context: dir}, err: "unable to prepare context"},
		{name: "missing dir", o: buildOptions{context: filepath.Join(dir, "nope")}, err: "unable to prepare context: path"},
		{name: "URL", o: buildOptions{context: "https://example.invalid/x.git"}, err: "remote build contexts"},
		{name: "stdin twice", o: buildOptions{context: "-", file: "-"}, err: "can't use stdin for both"},
		{name: "Dockerfile on stdin as context", o: buildOptions{context: "-"}, dfName: "Dockerfile", content: "FROM c\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bc, err := c.buildContext(tc.o)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer bc.Close()
			if bc.dockerfileName != tc.dfName || string(bc.dockerfile) != tc.content {
				t.Errorf("dockerfile %q content %q", bc.dockerfileName, bc.dockerfile)
			}
		})
	}
}
