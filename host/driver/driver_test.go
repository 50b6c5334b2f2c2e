package driver

import (
	"errors"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

type fakeFactory struct {
	name  string
	avail error
}

func (f fakeFactory) Name() string                      { return f.name }
func (f fakeFactory) Available() error                  { return f.avail }
func (f fakeFactory) New(inst Instance) (Driver, error) { return nil, errors.New("not for this test") }

func TestRegistryGet(t *testing.T) {
	missing := errors.New("qemu-system-x86_64 not found")
	tests := []struct {
		name     string
		goos     string
		get      string
		kind     func(error) bool // nil: success
		contains string
	}{
		{name: "registered", goos: "linux", get: "native"},
		{name: "custom driver", goos: "linux", get: "fake"},
		{name: "unknown", goos: "linux", get: "virtualbox", kind: errdefs.IsInvalidArgument,
			contains: `invalid driver "virtualbox": known drivers are fake, hcs, native, qemu, vz`},
		{name: "other OS", goos: "linux", get: "vz", kind: errdefs.IsNotImplemented,
			contains: `driver "vz" does not run on linux (it runs on darwin); use --driver native`},
		{name: "native on darwin", goos: "darwin", get: "native", kind: errdefs.IsNotImplemented,
			contains: "use --driver vz"},
		{name: "not in this build", goos: "windows", get: "hcs", kind: errdefs.IsNotImplemented,
			contains: `driver "hcs" is not part of this build`},
		{name: "unavailable", goos: "linux", get: "qemu", kind: func(err error) bool { return errors.Is(err, missing) }},
		{name: "empty name", goos: "linux", get: "", kind: errdefs.IsInvalidArgument, contains: "invalid driver"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRegistry(fakeFactory{name: "native"}, fakeFactory{name: "fake"}, fakeFactory{name: "qemu", avail: missing})
			r.goos = tt.goos
			f, err := r.Get(tt.get)
			if tt.kind == nil {
				if err != nil || f.Name() != tt.get {
					t.Fatalf("Get(%q) = %v, %v", tt.get, f, err)
				}
				return
			}
			if err == nil || !tt.kind(err) {
				t.Fatalf("Get(%q) error = %v, wrong kind", tt.get, err)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q does not say %q", err, tt.contains)
			}
		})
	}
}

func TestRegistryDefault(t *testing.T) {
	for goos, want := range map[string]string{"linux": "native", "darwin": "vz", "windows": "hcs", "freebsd": "qemu"} {
		t.Run(goos, func(t *testing.T) {
			r := NewRegistry()
			r.goos = goos
			if got := r.Default(); got != want {
				t.Errorf("Default() on %s = %q, want %q", goos, got, want)
			}
		})
	}
}

// Compile-time check that the role interfaces make up Driver.
var _ = func(d Driver) (Info, Lifecycle, AgentDialer) { return d, d, d }
