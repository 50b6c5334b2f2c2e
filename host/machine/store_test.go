package machine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/driver"
)

// stubFactory is a driver factory whose drivers only create a marker file;
// it lets store tests run without root or an agent.
type stubFactory struct{ avail error }

func (stubFactory) Name() string       { return "stub" }
func (f stubFactory) Available() error { return f.avail }
func (stubFactory) New(inst driver.Instance) (driver.Driver, error) {
	return &stubDriver{inst: inst}, nil
}

type stubDriver struct {
	driver.Driver // not called by store tests beyond what is below
	inst          driver.Instance
}

func (d *stubDriver) Create(ctx context.Context) error {
	return os.WriteFile(filepath.Join(d.inst.Dir, "disk.img"), nil, 0o600)
}
func (d *stubDriver) Delete(ctx context.Context) error {
	return os.RemoveAll(filepath.Join(d.inst.Dir, "disk.img"))
}

func stubStore(t *testing.T) *Store {
	return NewStore(t.TempDir(), WithDrivers(driver.NewRegistry(stubFactory{})))
}

func TestConfigRoundTrip(t *testing.T) {
	s := stubStore(t)
	in := Config{Name: "dev-1", Driver: "stub", CPUs: 4, Memory: 8 << 30, Disk: 100 << 30,
		InsecureRegistries: []string{"reg.local:5000"}, Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	m, err := s.Create(context.Background(), in)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	got, err := s.Get("dev-1")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if !reflect.DeepEqual(got.Config, in) || !reflect.DeepEqual(m.Config, in) {
		t.Errorf("config round trip:\n got %+v\nwant %+v", got.Config, in)
	}
	if _, err := os.Stat(filepath.Join(got.Dir(), "disk.img")); err != nil {
		t.Errorf("driver Create not called: %v", err)
	}
	st, err := os.Stat(got.Dir())
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("machine dir mode = %v, %v; want 0700", st.Mode().Perm(), err)
	}
	if s := got.State(); s != StateStopped {
		t.Errorf("State of a new machine = %s, want Stopped", s)
	}
}

func TestCreateDefaults(t *testing.T) {
	s := NewStore(t.TempDir(), WithDrivers(driver.NewRegistry(stubFactory{})))
	m, err := s.Create(context.Background(), Config{Name: "d", Driver: "stub"})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if m.Config.CPUs != DefaultCPUs || m.Config.Memory != DefaultMemory || m.Config.Disk != DefaultDisk || m.Config.Created.IsZero() {
		t.Errorf("defaults not applied: %+v", m.Config)
	}
}

func TestCreateBadInput(t *testing.T) {
	unavailable := errors.New("stub is broken here")
	tests := []struct {
		name     string
		cfg      Config
		avail    error
		existing bool
		kind     func(error) bool
		contains string
	}{
		{name: "bad name", cfg: Config{Name: "-x", Driver: "stub"}, kind: errdefs.IsInvalidArgument, contains: `invalid machine name "-x"`},
		{name: "slash in name", cfg: Config{Name: "a/b", Driver: "stub"}, kind: errdefs.IsInvalidArgument, contains: "invalid machine name"},
		{name: "dotdot", cfg: Config{Name: "..", Driver: "stub"}, kind: errdefs.IsInvalidArgument, contains: "invalid machine name"},
		{name: "empty name", cfg: Config{Name: "", Driver: "stub"}, kind: errdefs.IsInvalidArgument, contains: "invalid machine name"},
		{name: "long name", cfg: Config{Name: strings.Repeat("a", 33), Driver: "stub"}, kind: errdefs.IsInvalidArgument, contains: "invalid machine name"},
		{name: "unknown driver", cfg: Config{Name: "x", Driver: "vbox"}, kind: errdefs.IsInvalidArgument, contains: `invalid driver "vbox"`},
		{name: "driver for another OS", cfg: Config{Name: "x", Driver: "hcs"}, kind: errdefs.IsNotImplemented, contains: `driver "hcs" does not run on`},
		{name: "driver unavailable", cfg: Config{Name: "x", Driver: "stub"}, avail: unavailable,
			kind: func(err error) bool { return errors.Is(err, unavailable) }, contains: "broken"},
		{name: "too little memory", cfg: Config{Name: "x", Driver: "stub", Memory: 1 << 20}, kind: errdefs.IsInvalidArgument, contains: "memory"},
		{name: "negative cpus", cfg: Config{Name: "x", Driver: "stub", CPUs: -1}, kind: errdefs.IsInvalidArgument, contains: "cpus"},
		{name: "exists", cfg: Config{Name: "x", Driver: "stub"}, existing: true, kind: errdefs.IsAlreadyExists, contains: `machine "x" already exists`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			if tt.existing {
				if _, err := NewStore(home, WithDrivers(driver.NewRegistry(stubFactory{}))).Create(context.Background(), tt.cfg); err != nil {
					t.Fatal(err)
				}
			}
			s := NewStore(home, WithDrivers(driver.NewRegistry(stubFactory{avail: tt.avail})))
			_, err := s.Create(context.Background(), tt.cfg)
			if err == nil || !tt.kind(err) {
				t.Fatalf("Create = %v, wrong kind", err)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q does not say %q", err, tt.contains)
			}
			if !tt.existing {
				if ms, _ := s.List(); len(ms) != 0 {
					t.Errorf("a failed Create left %d machines behind", len(ms))
				}
			}
		})
	}
}

func TestGetMissing(t *testing.T) {
	s := stubStore(t)
	_, err := s.Get("x")
	want := `machine "x" does not exist; create it with: berth machine init x`
	if !errdefs.IsNotFound(err) || err.Error() != want {
		t.Fatalf("Get(missing) = %v, want %q (not found)", err, want)
	}
	if _, err := s.EnsureRunning(context.Background(), "x", nil); err == nil || err.Error() != want {
		t.Fatalf("EnsureRunning(missing non-default) = %v, want %q", err, want)
	}
}

func TestGetCorruptConfig(t *testing.T) {
	s := stubStore(t)
	if _, err := s.Create(context.Background(), Config{Name: "c", Driver: "stub"}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.machineDir("c"), configFile), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("c"); err == nil || errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "machine.json") {
		t.Fatalf("Get(corrupt) = %v, want an error naming machine.json", err)
	}
}

func TestListAndRemove(t *testing.T) {
	s := stubStore(t)
	if ms, err := s.List(); err != nil || len(ms) != 0 {
		t.Fatalf("List on an empty store = %v, %v", ms, err)
	}
	for _, n := range []string{"zeta", "alpha", "mid"} {
		if _, err := s.Create(context.Background(), Config{Name: n, Driver: "stub"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(s.dir, "junk"), 0o700); err != nil { // no config: skipped
		t.Fatal(err)
	}
	ms, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
	}
	if strings.Join(names, ",") != "alpha,mid,zeta" {
		t.Errorf("List = %v, want alpha,mid,zeta", names)
	}
	if err := s.Remove(context.Background(), "mid", false); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, err := os.Stat(s.machineDir("mid")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("machine dir still there after Remove: %v", err)
	}
	if err := s.Remove(context.Background(), "mid", false); !errdefs.IsNotFound(err) {
		t.Errorf("second Remove = %v, want not found", err)
	}
}

func TestStopStopped(t *testing.T) {
	s := stubStore(t)
	if _, err := s.Create(context.Background(), Config{Name: "s", Driver: "stub"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(context.Background(), "s"); err != nil {
		t.Errorf("Stop of a stopped machine = %v, want nil", err)
	}
}
