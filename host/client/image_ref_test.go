package client

import (
	"errors"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

func TestParseImageRef(t *testing.T) {
	tests := []struct {
		in, full, wantErr string
	}{
		{in: "busybox", full: "docker.io/library/busybox:latest"},
		{in: "me/app:2", full: "docker.io/me/app:2"},
		{in: "127.0.0.1:5000/test/busybox:1", full: "127.0.0.1:5000/test/busybox:1"},
		{in: "localhost:5000/x", full: "localhost:5000/x:latest"},
		{in: "busybox@" + pullDigest, full: "docker.io/library/busybox@" + pullDigest},
		{in: "", wantErr: "invalid reference format: the image name is empty"},
		{in: "Busybox:1", wantErr: "invalid reference format: repository name (Busybox) must be lowercase"},
		{in: "reg:5000/Me/App", wantErr: "invalid reference format: repository name (reg:5000/Me/App) must be lowercase"},
		{in: "a::b", wantErr: `invalid reference format: "a::b" is not an image name; use [REGISTRY/]NAME[:TAG] or NAME@sha256:DIGEST`},
		{in: "x@sha256:short", wantErr: `invalid reference format: "x@sha256:short" is not an image name; use [REGISTRY/]NAME[:TAG] or NAME@sha256:DIGEST`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			ref, err := parseImageRef(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr || !errors.Is(err, errdefs.ErrInvalidArgument) {
					t.Fatalf("err = %v, want %q (invalid argument)", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if got := fullRefName(ref); got != tt.full {
				t.Errorf("full name %q, want %q", got, tt.full)
			}
		})
	}
}

func TestFamiliarNames(t *testing.T) {
	tests := []struct{ in, want string }{
		{"docker.io/library/busybox:latest", "busybox:latest"},
		{"index.docker.io/library/busybox:1", "busybox:1"},
		{"docker.io/library/busybox@sha256:ab", "busybox@sha256:ab"},
		{"docker.io/me/app:2", "me/app:2"},
		{"docker.io/library/a/b:1", "library/a/b:1"},
		{"127.0.0.1:5000/test/busybox:1", "127.0.0.1:5000/test/busybox:1"},
		{"localhost:5000/x", "localhost:5000/x"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := familiarTagOrDigest(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	for in, want := range map[string]string{"busybox": "busybox:latest", "me/app@" + pullDigest: "me/app@" + pullDigest, "Bad::x": "Bad::x"} {
		if got := familiarRef(in); got != want {
			t.Errorf("familiarRef(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNoSuchImage(t *testing.T) {
	tests := []struct{ ref, want string }{
		{"nope", "No such image: nope:latest"},
		{"a1a1a1a1a1a1", "No such image: a1a1a1a1a1a1"},
		{"sha256:" + strings.Repeat("c3", 32), "No such image: sha256:" + strings.Repeat("c3", 32)},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			err := noSuchImage(tt.ref, fromAgent(notFound(tt.ref)))
			if err.Error() != tt.want || !errdefs.IsNotFound(err) {
				t.Errorf("got %v, want %q (not found)", err, tt.want)
			}
		})
	}
	other := errors.New("boom")
	if got := noSuchImage("x", other); !errors.Is(got, other) {
		t.Errorf("other errors must pass through, got %v", got)
	}
}
