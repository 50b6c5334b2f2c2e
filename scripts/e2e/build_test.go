//go:build linux

package e2e

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuild builds an image with `berth build` from a context directory
// (multi-stage, COPY from the context and from a stage, .dockerignore) on
// the busybox image of TestImages served from 127.0.0.1, runs it, builds
// it again from the cache, and checks a failing RUN's message and exit
// code.
func TestBuild(t *testing.T) {
	requireBerth(t)
	img := serveImage(t, busyboxImage(t))
	dir := t.TempDir()
	files := map[string]string{
		"Dockerfile": fmt.Sprintf(`FROM %[1]s AS b
RUN echo built > /x
FROM %[1]s
COPY --from=b /x /y
COPY . /ctx/
CMD ["sh", "-c", "busybox cat /y /ctx/msg.txt; busybox ls /ctx"]
`, img.ref),
		"msg.txt":       "hello\n",
		"ignored.txt":   "secret\n",
		".dockerignore": "ignored.txt\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { berth(t, nil, "rmi", "e2e/built:1") })

	r := berthIn(t, dir, "build", "-t", "e2e/built:1", ".")
	if r.code != 0 {
		t.Fatalf("berth build:\n%s", r)
	}
	t.Logf("berth build:\n%s", r.stdout)
	for _, want := range []string{"Step 1/6 : FROM " + img.ref + " AS b\n", " ---> Running in ", "Successfully built ", "Successfully tagged e2e/built:1\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("build output lacks %q", want)
		}
	}
	run := berthOK(t, "run", "--rm", "e2e/built:1")
	if want := "built\nhello\nDockerfile\nmsg.txt\n"; run.stdout != want {
		t.Errorf("berth run --rm e2e/built:1 = %q, want %q (.dockerignore'd files must be left out)", run.stdout, want)
	}

	h := berthOK(t, "history", "--no-trunc", "--format", "{{.CreatedBy}}", "e2e/built:1")
	hist := strings.Split(strings.TrimSpace(h.stdout), "\n")
	if len(hist) < 3 || hist[0] != `/bin/sh -c #(nop)  CMD ["sh" "-c" "busybox cat /y /ctx/msg.txt; busybox ls /ctx"]` ||
		!strings.HasPrefix(hist[1], "/bin/sh -c #(nop) COPY dir:") || !strings.HasPrefix(hist[2], "/bin/sh -c #(nop) COPY file:") {
		t.Errorf("history of the built image:\n%s", h)
	}
	if imgs := berthOK(t, "images", "--format", "{{.Repository}}:{{.Tag}}"); strings.Count(imgs.stdout, "<none>:<none>\n") != 1 {
		t.Errorf("images must list the built image and stage b's result only, not every step's:\n%s", imgs.stdout)
	}

	iid := filepath.Join(t.TempDir(), "iid")
	q := berthIn(t, dir, "build", "-q", "--iidfile", iid, ".")
	id := berthOK(t, "image", "inspect", "-f", "{{.Id}}", "e2e/built:1").stdout
	if q.code != 0 || q.stdout != id {
		t.Errorf("build -q of the same context must print the cached image's id %q:\n%s", id, q)
	}
	if b, err := os.ReadFile(iid); err != nil || string(b)+"\n" != id {
		t.Errorf("--iidfile holds %q (%v), want %q", b, err, id)
	}

	// The same context as a tar on stdin (ignored.txt in it too: the
	// agent applies .dockerignore) hits the same cache.
	var tarball bytes.Buffer
	tw := tar.NewWriter(&tarball)
	for name, content := range files {
		tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(content))})
		tw.Write([]byte(content))
	}
	tw.Close()
	if st := berth(t, &tarball, "build", "-q", "-"); st.code != 0 || st.stdout != id {
		t.Errorf("build -q - with the context tar on stdin must print %q:\n%s", id, st)
	}

	fail := berth(t, strings.NewReader("FROM "+img.ref+"\nRUN exit 3\n"), "build", "-f", "-", dir)
	msg := "The command '/bin/sh -c exit 3' returned a non-zero code: 3"
	if fail.code != 3 || !strings.Contains(fail.stderr, msg+"\n") || strings.Contains(fail.stderr, "Error") {
		t.Errorf("failing RUN: want exit 3 and %q on stderr:\n%s", msg, fail)
	}
}
