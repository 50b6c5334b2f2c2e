package machine

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/driver"
)

// sizedFactory makes drivers whose sizes apply (like a VM driver).
type sizedFactory struct{ sizes bool }

func (sizedFactory) Name() string     { return "sized" }
func (sizedFactory) Available() error { return nil }
func (f sizedFactory) New(inst driver.Instance) (driver.Driver, error) {
	return sizedDriver{f: driver.Features{VM: f.sizes, SizesApply: f.sizes}}, nil
}

type sizedDriver struct {
	driver.Driver
	f driver.Features
}

func (d sizedDriver) Features() driver.Features { return d.f }

func TestCheckHostSize(t *testing.T) {
	host := hostSize{CPUs: 4, Memory: 8 << 30}
	tests := []struct {
		name  string
		sizes bool
		cfg   Config
		want  string // "" = ok
	}{
		{"fits", true, Config{Name: "m", CPUs: 4, Memory: 8 << 30}, ""},
		{"too many cpus", true, Config{Name: "m", CPUs: 5, Memory: 1 << 30}, "--cpus 5 is more than this host has (4)"},
		{"too much memory", true, Config{Name: "m", CPUs: 1, Memory: 9 << 30}, "--memory 9216MiB is more than this host has (8192MiB)"},
		{"sizes do not apply", false, Config{Name: "m", CPUs: 64, Memory: 1 << 40}, ""},
		{"unknown host", true, Config{Name: "m", CPUs: 64}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := host
			if tt.name == "unknown host" {
				h = hostSize{}
			}
			err := checkHostSize(sizedFactory{sizes: tt.sizes}, tt.cfg, h)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want invalid argument containing %q", err, tt.want)
			}
		})
	}
}

// TestCreateRefusesHostSize: Store.Create checks sizes before it makes the
// machine's dir.
func TestCreateRefusesHostSize(t *testing.T) {
	home := t.TempDir()
	s := NewStore(home, WithDrivers(driver.NewRegistry(sizedFactory{sizes: true})))
	_, err := s.Create(context.Background(), Config{Name: "big", Driver: "sized", CPUs: 100000})
	if !errdefs.IsInvalidArgument(err) {
		t.Fatalf("Create = %v, want invalid argument", err)
	}
	if _, err := s.Get("big"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("machine exists after a refused Create: %v", err)
	}
	if thisHost().Memory <= 0 {
		t.Errorf("thisHost().Memory = %d on this host", thisHost().Memory)
	}
}
