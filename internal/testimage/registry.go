package testimage

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Registry serves an in-memory registry on 127.0.0.1 until the test ends
// and returns its host:port.
func Registry(t testing.TB) string {
	t.Helper()
	return serve(t, newRegistry())
}

// AuthRegistry is a Registry that answers only requests carrying basic
// auth user:password; others get 401 with a Basic challenge, as a private
// registry does.
func AuthRegistry(t testing.TB, user, password string) string {
	t.Helper()
	reg := newRegistry()
	return serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="testimage"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
}

// GatedRegistry is a Registry behind a BlobGate that holds every blob
// download after its first hold bytes. The gate is opened before the
// server closes at the end of the test, so no held download outlives it.
func GatedRegistry(t testing.TB, hold int) (string, *BlobGate) {
	t.Helper()
	g := NewBlobGate(newRegistry(), hold)
	host := serve(t, g)
	t.Cleanup(g.Open) // runs before serve's srv.Close, which waits for handlers
	return host, g
}

// Push uploads img to ref (on a Registry).
func Push(t testing.TB, ref string, img v1.Image) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
}

func newRegistry() http.Handler {
	return registry.New(registry.Logger(log.New(io.Discard, "", 0)))
}

func serve(t testing.TB, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// BlobGate wraps a registry handler. It counts blob downloads and holds
// each one after its first hold bytes until Open, so that a test can kill
// an agent or interrupt a pull while a layer is mid-download, without
// timing. A held download ends early when its client goes away.
type BlobGate struct {
	next      http.Handler
	hold      int
	downloads atomic.Int64

	open     chan struct{}
	openOnce sync.Once
	held     chan struct{}
	heldOnce sync.Once
}

// NewBlobGate returns a closed gate in front of next that lets hold bytes
// of each blob through.
func NewBlobGate(next http.Handler, hold int) *BlobGate {
	return &BlobGate{next: next, hold: hold, open: make(chan struct{}), held: make(chan struct{})}
}

// Held is closed once a download is held at the gate.
func (g *BlobGate) Held() <-chan struct{} { return g.held }

// Open lets every held and later download through. It may be called more
// than once.
func (g *BlobGate) Open() { g.openOnce.Do(func() { close(g.open) }) }

// Downloads is the number of blob downloads (GETs) started so far.
func (g *BlobGate) Downloads() int { return int(g.downloads.Load()) }

// ServeHTTP passes requests to the registry, gating blob GETs.
func (g *BlobGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
		g.downloads.Add(1)
		w = &gatedWriter{ResponseWriter: w, g: g, ctx: r.Context()}
	}
	g.next.ServeHTTP(w, r)
}

// gatedWriter sends a blob in flushed chunks and stops at the gate.
type gatedWriter struct {
	http.ResponseWriter
	g   *BlobGate
	ctx context.Context
	n   int
}

func (w *gatedWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if w.n >= w.g.hold {
			w.g.heldOnce.Do(func() { close(w.g.held) })
			select {
			case <-w.g.open:
			case <-w.ctx.Done():
				return written, w.ctx.Err()
			}
		}
		limit := len(p)
		if w.n < w.g.hold {
			limit = min(limit, w.g.hold-w.n)
		}
		n, err := w.ResponseWriter.Write(p[:min(limit, 64<<10)])
		w.n += n
		written += n
		if err != nil {
			return written, err
		}
		if f, ok := w.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		p = p[n:]
	}
	return written, nil
}
