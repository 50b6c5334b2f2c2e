package machine

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/internal/testbin"
	"github.com/berth-dev/berth/host/internal/testenv"
	"github.com/berth-dev/berth/internal/machineproc"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// daemonEnv makes the test binary run as a machine daemon (see TestMain).
const daemonEnv = "BERTH_MACHINE_TEST_DAEMON"

var agentNote string

func TestMain(m *testing.M) {
	testbin.RunFakeAgent()
	if name := os.Getenv(daemonEnv); name != "" {
		os.Exit(runTestDaemon(name))
	}
	os.Exit(testbin.RunWithAgent(m, &agentNote))
}

func runTestDaemon(name string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := NewStore(os.Getenv("BERTH_HOME")).RunDaemon(ctx, name, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "daemon:", err)
		return 1
	}
	return 0
}

// daemonStore is a store whose daemons are this test binary; spawns counts
// the daemons it started.
func daemonStore(t *testing.T, spawns *atomic.Int32) (*Store, string) {
	t.Helper()
	testenv.RequiresRoot(t)
	t.Log("using", agentNote)
	home := t.TempDir()
	s := NewStore(home, WithDaemonCommand(func(name string) (*exec.Cmd, error) {
		if spawns != nil {
			spawns.Add(1)
		}
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), daemonEnv+"="+name, "BERTH_HOME="+home)
		return cmd, nil
	}))
	return s, home
}

// newRunning creates machine name and starts it; it is stopped at cleanup,
// and its daemon and agent killed if they survive.
func newRunning(t *testing.T, s *Store, name string) *Machine {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Create(ctx, Config{Name: name, Driver: "native"}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Cleanup(func() { cleanupMachine(t, s, name) })
	var progress bytes.Buffer
	m, err := s.Start(ctx, name, &progress)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if want := fmt.Sprintf("Starting machine %q (native driver)...\n", name); progress.String() != want {
		t.Errorf("progress = %q, want %q", progress.String(), want)
	}
	return m
}

func cleanupMachine(t *testing.T, s *Store, name string) {
	m, err := s.Get(name)
	if err != nil {
		return
	}
	st, _ := m.Status()
	agent := machineproc.PID(filepath.Join(m.dir, "agent.pid"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Stop(ctx, name); err != nil {
		t.Errorf("cleanup: stop %s: %v", name, err)
	}
	for _, pid := range []int{st.PID, agent} {
		if pid > 0 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if t.Failed() {
		if b, err := os.ReadFile(m.LogPath()); err == nil {
			t.Logf("daemon.log:\n%s", b)
		}
	}
}

func agentVersion(t *testing.T, m *Machine) string {
	t.Helper()
	conn, err := m.Dialer()()
	if err != nil {
		t.Fatalf("dial machine: %v", err)
	}
	var r agentv1.VersionResponse
	if err := agentCall(context.Background(), conn, "Version", &r); err != nil {
		t.Fatalf("Version through the daemon: %v", err)
	}
	return r.Version
}

func TestDaemonLifecycle(t *testing.T) {
	var spawns atomic.Int32
	s, _ := daemonStore(t, &spawns)
	m := newRunning(t, s, "life")
	if st := m.State(); st != StateRunning {
		t.Fatalf("State after Start = %s", st)
	}
	fi, err := os.Stat(m.SocketPath())
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("daemon socket %v, %v; want a 0600 socket", fi.Mode(), err)
	}
	if v := agentVersion(t, m); v == "" {
		t.Errorf("agent answered an empty version")
	}
	st, _ := m.Status()
	agent := machineproc.PID(filepath.Join(m.dir, "agent.pid"))
	if st.PID <= 0 || agent <= 0 || !machineproc.Alive(st.PID) || !machineproc.Alive(agent) {
		t.Fatalf("daemon pid %d, agent pid %d: want both alive", st.PID, agent)
	}
	var progress bytes.Buffer
	if _, err := s.Start(context.Background(), "life", &progress); err != nil || progress.Len() != 0 || spawns.Load() != 1 {
		t.Errorf("Start of a running machine: err %v, progress %q, %d daemons spawned; want nil, none, 1", err, progress.String(), spawns.Load())
	}
	if err := s.Stop(context.Background(), "life"); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if st := m.State(); st != StateStopped {
		t.Errorf("State after Stop = %s", st)
	}
	for _, f := range []string{daemonSocket, daemonState, "agent.sock", "agent.pid"} {
		if _, err := os.Stat(filepath.Join(m.dir, f)); err == nil {
			t.Errorf("%s still there after Stop", f)
		}
	}
	if machineproc.Alive(st.PID) || machineproc.Alive(agent) {
		t.Errorf("after Stop: daemon alive %v, agent alive %v", machineproc.Alive(st.PID), machineproc.Alive(agent))
	}
	if err := s.Stop(context.Background(), "life"); err != nil {
		t.Errorf("second Stop = %v, want nil", err)
	}
	if b, _ := os.ReadFile(m.LogPath()); !bytes.Contains(b, []byte("machine daemon stopped")) {
		t.Errorf("daemon.log does not record a clean stop:\n%s", b)
	}
}

func TestConcurrentStartsOneDaemon(t *testing.T) {
	var spawns atomic.Int32
	s, _ := daemonStore(t, &spawns)
	if _, err := s.Create(context.Background(), Config{Name: "race", Driver: "native"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cleanupMachine(t, s, "race") })
	const n = 6
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.EnsureRunning(context.Background(), "race", nil)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent EnsureRunning: %v", err)
		}
	}
	if got := spawns.Load(); got != 1 {
		t.Errorf("%d daemons spawned by %d concurrent starts, want 1", got, n)
	}
}

// TestDaemonKilledRestarts: after kill -9 of the daemon, the machine reads as
// stopped, its agent goes away, and EnsureRunning brings it back.
func TestDaemonKilledRestarts(t *testing.T) {
	s, _ := daemonStore(t, nil)
	m := newRunning(t, s, "k9")
	st, _ := m.Status()
	agent := machineproc.PID(filepath.Join(m.dir, "agent.pid"))
	if err := syscall.Kill(st.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if !waitUnlocked(ctx, m) {
		t.Fatalf("daemon lock still held after kill -9")
	}
	var progress bytes.Buffer
	m2, err := s.EnsureRunning(ctx, "k9", &progress)
	if err != nil {
		t.Fatalf("EnsureRunning after kill -9: %v", err)
	}
	if !strings.Contains(progress.String(), "Starting machine") {
		t.Errorf("no start progress after kill -9: %q", progress.String())
	}
	agentVersion(t, m2)
	if machineproc.Alive(agent) {
		t.Errorf("the killed daemon's agent (pid %d) still runs", agent)
	}
}

// The daemon restarting a killed agent is tested with the real binaries in
// e2e.TestAgentKilledIsRestarted.

func TestRemoveRunning(t *testing.T) {
	s, _ := daemonStore(t, nil)
	m := newRunning(t, s, "rm")
	err := s.Remove(context.Background(), "rm", false)
	if !errdefs.IsFailedPrecondition(err) || !strings.Contains(err.Error(), "use -f") {
		t.Fatalf("Remove of a running machine = %v, want a refusal that mentions -f", err)
	}
	st, _ := m.Status()
	if err := s.Remove(context.Background(), "rm", true); err != nil {
		t.Fatalf("Remove -f: %v", err)
	}
	if _, err := os.Stat(m.dir); !os.IsNotExist(err) {
		t.Errorf("machine dir still there: %v", err)
	}
	if machineproc.Alive(st.PID) {
		t.Errorf("daemon still runs after Remove -f")
	}
}

func TestSecondDaemonRefused(t *testing.T) {
	s, _ := daemonStore(t, nil)
	newRunning(t, s, "two")
	err := s.RunDaemon(context.Background(), "two", nil)
	if !errdefs.IsAlreadyExists(err) {
		t.Fatalf("second RunDaemon = %v, want already exists", err)
	}
}
