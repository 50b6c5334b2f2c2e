package e2e

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// slowBlobs sends blob bodies in small, spaced chunks, so that a pull is
// still downloading when the test interrupts it.
type slowBlobs struct{ next http.Handler }

func (s slowBlobs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
		w = &slowWriter{ResponseWriter: w}
	}
	s.next.ServeHTTP(w, r)
}

type slowWriter struct{ http.ResponseWriter }

func (w *slowWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		c := min(len(p), 16<<10)
		m, err := w.ResponseWriter.Write(p[:c])
		n += m
		if err != nil {
			return n, err
		}
		if f, ok := w.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		p = p[c:]
		time.Sleep(40 * time.Millisecond)
	}
	return n, nil
}

// testPullInterrupted interrupts a pull with SIGINT (Ctrl-C): berth exits
// with status 130, no image appears, and pulling again works.
func testPullInterrupted(t *testing.T, _ testImage) {
	srv := httptest.NewServer(slowBlobs{registry.New(registry.Logger(log.New(io.Discard, "", 0)))})
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/test/slow:1"
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, busyboxImage(t)); err != nil {
		t.Fatalf("push: %v", err)
	}
	before := berthOK(t, "images", "-q", "--no-trunc").stdout

	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, berthBin, "pull", ref)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitForLine(t, out, ": Pulling fs layer")
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatalf("interrupt: %v", err)
	}
	go io.Copy(io.Discard, out) //nolint:errcheck // drain until exit
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("interrupted pull: %v, want exit status 130", err)
	}
	if after := berthOK(t, "images", "-q", "--no-trunc").stdout; after != before {
		t.Errorf("an interrupted pull changed the images: %q, was %q", after, before)
	}
	again := berthOK(t, "pull", "-q", ref)
	if again.stdout != ref+"\n" {
		t.Errorf("pull after the interrupted one:\n%s", again)
	}
	berthOK(t, "rmi", ref)
}

// waitForLine reads r until a line contains s.
func waitForLine(t *testing.T, r io.Reader, s string) {
	t.Helper()
	sc := bufio.NewScanner(r)
	var seen []string
	for sc.Scan() {
		if strings.Contains(sc.Text(), s) {
			return
		}
		seen = append(seen, sc.Text())
	}
	t.Fatalf("no line with %q; got %q (%v)", s, seen, sc.Err())
}
