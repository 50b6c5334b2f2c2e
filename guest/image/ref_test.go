package image

import (
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

func TestParseReference(t *testing.T) {
	const dg = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		in, norm, familiar, famName string
	}{
		{"busybox", "docker.io/library/busybox:latest", "busybox:latest", "busybox"},
		{"busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36", "busybox"},
		{"docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest", "busybox"},
		{"index.docker.io/library/busybox:1", "docker.io/library/busybox:1", "busybox:1", "busybox"},
		{"me/app:v2", "docker.io/me/app:v2", "me/app:v2", "me/app"},
		{"127.0.0.1:5000/x", "127.0.0.1:5000/x:latest", "127.0.0.1:5000/x:latest", "127.0.0.1:5000/x"},
		{"localhost:5000/a/b:c", "localhost:5000/a/b:c", "localhost:5000/a/b:c", "localhost:5000/a/b"},
		{"ghcr.io/o/r:T_1.x", "ghcr.io/o/r:T_1.x", "ghcr.io/o/r:T_1.x", "ghcr.io/o/r"},
		{"busybox@" + dg, "docker.io/library/busybox@" + dg, "busybox@" + dg, "busybox"},
		{"busybox:1@" + dg, "docker.io/library/busybox@" + dg, "busybox@" + dg, "busybox"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := ParseReference(tt.in)
			if err != nil {
				t.Fatalf("ParseReference: %v", err)
			}
			if r.String() != tt.norm || r.Familiar() != tt.familiar || r.FamiliarName() != tt.famName {
				t.Errorf("got %q %q %q, want %q %q %q", r.String(), r.Familiar(), r.FamiliarName(), tt.norm, tt.familiar, tt.famName)
			}
			if FamiliarString(r.String()) != tt.familiar {
				t.Errorf("FamiliarString(%q) = %q", r.String(), FamiliarString(r.String()))
			}
		})
	}
	for _, bad := range []string{"", "Busybox", "busy box", "busybox:", ":tag", "a//b", "busybox@sha256:12", "http://reg/x", "x:" + strings.Repeat("t", 200), " busybox"} {
		t.Run("bad "+bad, func(t *testing.T) {
			if r, err := ParseReference(bad); !errdefs.IsInvalidArgument(err) {
				t.Errorf("ParseReference(%q) = %v, %v; want invalid argument", bad, r, err)
			}
		})
	}
}

// FuzzParseReference checks that parsing never panics and that the
// normalized form is a fixed point: it parses back to itself, as does the
// familiar form.
func FuzzParseReference(f *testing.F) {
	for _, s := range []string{"busybox", "busybox:1", "me/app:v2", "127.0.0.1:5000/x", "localhost/a/b:c",
		"busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "docker.io/library/x", "[::1]:5000/a:b", "a/b/c/d:e", "UP:per"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseReference(s)
		if err != nil {
			if !errdefs.IsInvalidArgument(err) {
				t.Fatalf("ParseReference(%q) error %v is not invalid argument", s, err)
			}
			return
		}
		for _, form := range []string{r.String(), r.Familiar()} {
			r2, err := ParseReference(form)
			if err != nil {
				t.Fatalf("ParseReference(%q) ok, but its form %q does not parse: %v", s, form, err)
			}
			if r2.String() != r.String() {
				t.Fatalf("%q normalizes to %q, but %q to %q", s, r.String(), form, r2.String())
			}
		}
	})
}
