package machine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/internal/errkind"

	"github.com/berth-dev/berth/host/driver"
	"github.com/berth-dev/berth/proto/stream"
)

// Files in a machine's dir.
const (
	daemonSocket = "daemon.sock"
	daemonLog    = "daemon.log"
	daemonState  = "daemon.json"
	daemonLock   = "daemon.lock"  // held by the running daemon
	startLock    = "start.lock"   // serializes start and stop
	storeLock    = ".create.lock" // in the store dir: serializes Create
)

// Store is the set of machines under home/machines.
type Store struct {
	dir     string
	drivers *driver.Registry
	spawn   func(name string) (*exec.Cmd, error)
}

// Option configures a Store.
type Option func(*Store)

// WithDrivers replaces the drivers of this build (tests use fakes).
func WithDrivers(r *driver.Registry) Option { return func(s *Store) { s.drivers = r } }

// WithDaemonCommand replaces how the machine daemon is started: cmd must run
// the daemon for the named machine in the foreground (Start detaches it).
// The default runs this executable with "machine daemon NAME".
func WithDaemonCommand(cmd func(name string) (*exec.Cmd, error)) Option {
	return func(s *Store) { s.spawn = cmd }
}

// NewStore returns the store under home. It creates nothing until needed.
func NewStore(home string, opts ...Option) *Store {
	s := &Store{dir: filepath.Join(home, "machines"), drivers: Drivers()}
	s.spawn = func(name string) (*exec.Cmd, error) { return selfDaemon(home, name) }
	for _, o := range opts {
		o(s)
	}
	return s
}

// selfDaemon runs this executable as the machine daemon, with BERTH_HOME set
// so that the daemon finds the same store.
func selfDaemon(home, name string) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cannot find the berth executable to run the machine daemon: %w", err)
	}
	cmd := exec.Command(exe, "machine", "daemon", name)
	cmd.Env = append(os.Environ(), "BERTH_HOME="+home)
	return cmd, nil
}

// Drivers returns the registry of drivers.
func (s *Store) Drivers() *driver.Registry { return s.drivers }

// Machine is one machine of a store.
type Machine struct {
	Name   string
	Config Config

	dir string
}

// Dir is the machine's state dir.
func (m *Machine) Dir() string { return m.dir }

// SocketPath is where the machine daemon listens: the unix socket
// daemon.sock in the machine's dir, or on Windows a named pipe (PipeName).
func (m *Machine) SocketPath() string { return daemonAddress(m.dir, m.Name) }

// LogPath is the machine daemon's log file.
func (m *Machine) LogPath() string { return filepath.Join(m.dir, daemonLog) }

// Dialer dials the machine daemon's socket (or pipe); each connection is
// spliced to a fresh agent connection. The caller writes the stream header.
func (m *Machine) Dialer() stream.Dial {
	addr := m.SocketPath()
	return func() (net.Conn, error) {
		c, err := dialDaemon(context.Background(), addr)
		if err != nil {
			return nil, fmt.Errorf("machine %q is not reachable (is it running? try: berth machine start %s): %w", m.Name, m.Name, err)
		}
		return c, nil
	}
}

func (s *Store) machineDir(name string) string { return filepath.Join(s.dir, name) }

// Create stores a new machine. cfg.Driver empty means the OS's default
// driver; unset sizes get defaults. It fails with errdefs.ErrAlreadyExists
// when the name is taken, and with the driver's error when the driver is
// unknown or cannot run here.
func (s *Store) Create(ctx context.Context, cfg Config) (*Machine, error) {
	if cfg.Driver == "" {
		cfg.Driver = s.drivers.Default()
	}
	cfg = cfg.withDefaults()
	if cfg.Created.IsZero() {
		cfg.Created = time.Now().UTC().Truncate(time.Second)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	f, err := s.drivers.Get(cfg.Driver)
	if err != nil {
		return nil, err
	}
	if err := checkHostSize(f, cfg, thisHost()); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("create machine store: %w", err)
	}
	// Creators take the store lock, so that nobody sees a machine dir
	// without its config (EnsureRunning of "default" from two processes).
	l, err := lockFile(ctx, filepath.Join(s.dir, storeLock))
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	dir := s.machineDir(cfg.Name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, errkind.New(errdefs.ErrAlreadyExists, "machine %q already exists", cfg.Name)
		}
		return nil, fmt.Errorf("create machine %q: %w", cfg.Name, err)
	}
	m := &Machine{Name: cfg.Name, Config: cfg, dir: dir}
	err = s.createFiles(ctx, f, m)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return m, nil
}

func (s *Store) createFiles(ctx context.Context, f driver.Factory, m *Machine) error {
	d, err := f.New(instance(m, nil))
	if err != nil {
		return err
	}
	if err := d.Create(ctx); err != nil {
		return fmt.Errorf("create machine %q: %w", m.Name, err)
	}
	return saveConfig(m.dir, m.Config)
}

// instance is what the driver gets to know about m.
func instance(m *Machine, logw io.Writer) driver.Instance {
	return driver.Instance{
		Name:               m.Name,
		Dir:                m.dir,
		CPUs:               m.Config.CPUs,
		MemoryBytes:        m.Config.Memory,
		DiskBytes:          m.Config.Disk,
		Image:              m.Config.Image,
		Shares:             m.Config.Shares,
		InsecureRegistries: m.Config.InsecureRegistries,
		Rosetta:            m.Config.Rosetta,
		Log:                logw,
	}
}

// Get returns the machine named name, or an errdefs.ErrNotFound error that
// says how to create it.
func (s *Store) Get(name string) (*Machine, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	dir := s.machineDir(name)
	cfg, err := loadConfig(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errkind.New(errdefs.ErrNotFound, "machine %q does not exist; create it with: berth machine init %s", name, name)
	}
	if err != nil {
		return nil, fmt.Errorf("machine %q: %w", name, err)
	}
	cfg.Name = name
	return &Machine{Name: name, Config: cfg, dir: dir}, nil
}

// List returns every machine, sorted by name. Dirs without a readable
// config are skipped.
func (s *Store) List() ([]*Machine, error) {
	ents, err := os.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list machines: %w", err)
	}
	var ms []*Machine
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		if m, err := s.Get(e.Name()); err == nil {
			ms = append(ms, m)
		}
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Name < ms[j].Name })
	return ms, nil
}

// Remove deletes the machine and all its data. A running machine is refused
// (errdefs.ErrFailedPrecondition) unless force is set; then it is stopped
// first.
func (s *Store) Remove(ctx context.Context, name string, force bool) error {
	m, err := s.Get(name)
	if err != nil {
		return err
	}
	if st := m.State(); st.Running() {
		if !force {
			return errkind.New(errdefs.ErrFailedPrecondition, "machine %q is running; stop it first (berth machine stop %s) or use -f",
				name, name)
		}
		if err := s.Stop(ctx, name); err != nil {
			return err
		}
	}
	if f, err := s.drivers.Get(m.Config.Driver); err == nil {
		d, err := f.New(instance(m, nil))
		if err == nil {
			err = d.Delete(ctx)
		}
		if err != nil {
			return fmt.Errorf("remove machine %q: %w", name, err)
		}
	}
	if err := os.RemoveAll(m.dir); err != nil {
		return fmt.Errorf("remove machine %q: %w", name, err)
	}
	return nil
}
