package testimage

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

func TestRegistryPush(t *testing.T) {
	reg := Registry(t)
	Push(t, reg+"/t/x:1", BusyboxImage(t, nil))
	if _, err := remote.Head(parseRef(t, reg+"/t/x:1")); err != nil {
		t.Errorf("pushed image not there: %v", err)
	}
}

// TestAuthRegistry: requests without the password are refused with a
// Basic challenge (401), those with it are served.
func TestAuthRegistry(t *testing.T) {
	reg := AuthRegistry(t, "alice", "s3cret")
	ref := parseRef(t, reg+"/private/x:1")
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		auth       authn.Authenticator
		wantStatus int // 0: allowed
	}{
		{"anonymous", authn.Anonymous, http.StatusUnauthorized},
		{"wrong password", &authn.Basic{Username: "alice", Password: "nope"}, http.StatusUnauthorized},
		{"right password", &authn.Basic{Username: "alice", Password: "s3cret"}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := remote.Write(ref, img, remote.WithAuth(tc.auth))
			var terr *transport.Error
			switch {
			case tc.wantStatus == 0 && err != nil:
				t.Errorf("push: %v", err)
			case tc.wantStatus != 0 && (!errors.As(err, &terr) || terr.StatusCode != tc.wantStatus):
				t.Errorf("push: %v, want HTTP %d", err, tc.wantStatus)
			}
		})
	}
}

// TestGatedRegistry: a blob download stops at the gate after the bytes it
// lets through, until Open; the bytes are then complete and correct, and
// every blob GET is counted.
func TestGatedRegistry(t *testing.T) {
	reg, g := GatedRegistry(t, 64<<10)
	img, err := random.Image(1<<20, 1)
	if err != nil {
		t.Fatal(err)
	}
	Push(t, reg+"/big/x:1", img)
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := layers[0].Digest()
	if n := g.Downloads(); n != 0 {
		t.Fatalf("%d downloads counted before any pull", n)
	}
	l, err := remote.Layer(parseRef(t, reg+"/big/x@"+want.String()).(name.Digest))
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		rc, err := l.Compressed() // verifies the digest at EOF
		if err == nil {
			_, err = io.Copy(io.Discard, rc)
			rc.Close()
		}
		got <- err
	}()
	<-g.Held()
	select {
	case err := <-got:
		t.Fatalf("download finished (%v) while held at the gate", err)
	default:
	}
	g.Open()
	if err := <-got; err != nil {
		t.Fatalf("download after Open: %v", err)
	}
	g.Open() // idempotent
	if n := g.Downloads(); n != 1 {
		t.Errorf("%d downloads counted, want 1", n)
	}
}

// TestBlobGateClientGone: a held download ends when its client goes away,
// so that the server can close with the gate still shut.
func TestBlobGateClientGone(t *testing.T) {
	g := NewBlobGate(newRegistry(), 1024)
	srv := httptest.NewServer(g)
	defer g.Open() // only if the test fails: lets a stuck handler go
	reg := strings.TrimPrefix(srv.URL, "http://")
	img, err := random.Image(256<<10, 1)
	if err != nil {
		t.Fatal(err)
	}
	Push(t, reg+"/big/y:1", img)
	layers, _ := img.Layers()
	d, _ := layers[0].Digest()
	ctx, cancel := context.WithCancel(context.Background())
	l, err := remote.Layer(parseRef(t, reg+"/big/y@"+d.String()).(name.Digest), remote.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		rc, err := l.Compressed()
		if err == nil {
			_, err = io.Copy(io.Discard, rc)
			rc.Close()
		}
		got <- err
	}()
	<-g.Held()
	cancel()
	if err := <-got; err == nil {
		t.Fatalf("cancelled download succeeded")
	}
	closed := make(chan struct{})
	go func() { srv.Close(); close(closed) }() // waits for the handler
	select {
	case <-closed:
	case <-time.After(time.Minute):
		t.Fatalf("the held handler did not end when its client went away")
	}
}

func parseRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
