package native

import (
	"context"
	"errors"
	"fmt"
	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/internal/errkind"
	"github.com/containerd/log"

	"github.com/berth-dev/berth/host/driver"
	"github.com/berth-dev/berth/host/internal/atomicfile"
)

// leftoverGrace is how long a leftover agent gets to exit on SIGTERM.
const leftoverGrace = 10 * time.Second

// Driver runs berth-agent as a child process.
type Driver struct {
	inst driver.Instance

	mu       sync.Mutex
	proc     *os.Process
	done     chan struct{} // closed when proc has exited
	stopping bool
}

var _ driver.Driver = (*Driver)(nil)

// geteuid is os.Geteuid, replaceable by tests.
var geteuid = os.Geteuid

// Available fails when not running as root.
func (Factory) Available() error {
	if geteuid() != 0 {
		return errkind.New(errdefs.ErrFailedPrecondition, "the native driver needs root (overlayfs, namespaces, nftables); run berth as root, e.g. with sudo")
	}
	return nil
}

// Create makes the agent's data dir.
func (d *Driver) Create(ctx context.Context) error {
	if err := os.MkdirAll(filepath.Join(d.inst.Dir, dataDir), 0o711); err != nil {
		return fmt.Errorf("native driver: %w", err)
	}
	return nil
}

// Start runs berth-agent as a child that gets SIGTERM if this process dies.
func (d *Driver) Start(ctx context.Context) (<-chan error, error) {
	if err := (Factory{}).Available(); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.proc != nil {
		return nil, errkind.New(errdefs.ErrAlreadyExists, "agent of machine %q already runs (pid %d)", d.inst.Name, d.proc.Pid)
	}
	bin, err := FindAgent()
	if err != nil {
		return nil, err
	}
	if err := d.killLeftover(ctx); err != nil {
		return nil, err
	}
	if err := d.Create(ctx); err != nil {
		return nil, err
	}
	scrubNetworks(ctx)
	if err := registerNetwork(NetworkID(d.inst.Dir), d.inst.Dir); err != nil {
		log.G(ctx).WithError(err).Warn("cannot record the machine's network for later clean-up")
	}
	cmd := exec.Command(bin, d.args()...)
	cmd.Stdout, cmd.Stderr = d.inst.Log, d.inst.Log
	cmd.Dir = d.inst.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	pidFile := filepath.Join(d.inst.Dir, agentPID)
	if err := atomicfile.WriteFile(pidFile, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o600); err != nil {
		log.G(ctx).WithError(err).Warn("cannot record the agent's pid")
	}
	log.G(ctx).WithField("pid", cmd.Process.Pid).WithField("binary", bin).Info("agent started")
	d.proc, d.done, d.stopping = cmd.Process, make(chan struct{}), false
	exited := make(chan error, 1)
	go d.wait(cmd, d.done, exited)
	return exited, nil
}

// wait reaps the agent and reports how it ended.
func (d *Driver) wait(cmd *exec.Cmd, done chan struct{}, exited chan<- error) {
	err := cmd.Wait()
	d.mu.Lock()
	asked := d.stopping
	d.proc = nil
	d.mu.Unlock()
	os.Remove(filepath.Join(d.inst.Dir, agentPID))
	close(done)
	switch {
	case asked:
		exited <- nil
	case err == nil:
		exited <- errors.New("berth-agent exited unexpectedly (status 0)")
	default:
		exited <- fmt.Errorf("berth-agent exited unexpectedly: %w", err)
	}
	close(exited)
}

func (d *Driver) args() []string {
	a := []string{
		"--data-dir", filepath.Join(d.inst.Dir, dataDir),
		"--socket", SocketPath(d.inst),
		"--name", d.inst.Name,
		// Native machines share the host's network namespace: each gets a
		// bridge and an nftables table of its own.
		"--network-id", NetworkID(d.inst.Dir),
	}
	for _, r := range d.inst.InsecureRegistries {
		a = append(a, "--insecure-registry", r)
	}
	return a
}

// Stop sends SIGTERM, and SIGKILL when ctx ends first.
func (d *Driver) Stop(ctx context.Context) error {
	d.mu.Lock()
	p, done := d.proc, d.done
	if p != nil {
		d.stopping = true
	}
	d.mu.Unlock()
	if p == nil {
		return d.killLeftover(ctx)
	}
	_ = p.Signal(syscall.SIGTERM)
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	log.G(ctx).WithField("pid", p.Pid).Warn("agent did not stop in time; killing it")
	_ = p.Kill()
	<-done
	return nil
}

// Delete removes the agent's data, socket and pid file.
func (d *Driver) Delete(ctx context.Context) error {
	d.mu.Lock()
	running := d.proc != nil
	d.mu.Unlock()
	if running {
		return errkind.New(errdefs.ErrFailedPrecondition, "agent of machine %q is running; stop it first", d.inst.Name)
	}
	var errs []error
	if err := removeHostNetwork(NetworkID(d.inst.Dir)); err != nil {
		errs = append(errs, err)
	} else {
		os.Remove(filepath.Join(networkRegistry, NetworkID(d.inst.Dir)))
	}
	for _, p := range []string{filepath.Join(d.inst.Dir, dataDir), SocketPath(d.inst), filepath.Join(d.inst.Dir, agentPID)} {
		if err := os.RemoveAll(p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// FindAgent returns the berth-agent binary beside this executable, else the
// one on PATH.
func FindAgent() (string, error) {
	self, err := os.Executable()
	if err == nil {
		p := filepath.Join(filepath.Dir(self), AgentBinary)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	if p, err := exec.LookPath(AgentBinary); err == nil {
		return p, nil
	}
	return "", errkind.New(errdefs.ErrNotFound, "%s not found beside %s or on PATH; run make build", AgentBinary, self)
}

// killLeftover stops an agent that a previous daemon started and that
// outlived it (it would hold the data dir). It only touches a process whose
// command line names this machine's socket.
func (d *Driver) killLeftover(ctx context.Context) error {
	pidFile := filepath.Join(d.inst.Dir, agentPID)
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 || !isOurAgent(pid, SocketPath(d.inst)) {
		os.Remove(pidFile)
		return nil
	}
	log.G(ctx).WithField("pid", pid).Warn("stopping a leftover agent")
	_ = syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(leftoverGrace)
	for isOurAgent(pid, SocketPath(d.inst)) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("leftover agent (pid %d) still runs: %w", pid, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	os.Remove(pidFile)
	return nil
}

// isOurAgent reports whether pid is a live (not zombie) berth-agent serving
// socket.
func isOurAgent(pid int, socket string) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	if i := strings.LastIndexByte(string(stat), ')'); i > 0 && strings.HasPrefix(string(stat[i:]), ") Z") {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	args := strings.Split(string(cmdline), "\x00")
	return len(args) > 0 && filepath.Base(args[0]) == AgentBinary && containsPair(args, "--socket", socket)
}

func containsPair(args []string, k, v string) bool {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == k && args[i+1] == v {
			return true
		}
	}
	return false
}

// removeHostNetwork deletes what the machine's agent made in the host's
// network namespace under its network id: the default bridge and the
// nftables table (both "berth-<id>"). Either may be absent.
func removeHostNetwork(id string) error {
	name := "berth-" + id
	var errs []error
	if l, err := netlink.LinkByName(name); err == nil {
		if err := netlink.LinkDel(l); err != nil {
			errs = append(errs, fmt.Errorf("delete bridge %s: %w", name, err))
		}
	}
	c, err := nftables.New()
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("nftables: %w", err))...)
	}
	if _, err := c.ListTableOfFamily(name, nftables.TableFamilyIPv4); err == nil {
		c.DelTable(&nftables.Table{Name: name, Family: nftables.TableFamilyIPv4})
		if err := c.Flush(); err != nil {
			errs = append(errs, fmt.Errorf("delete nftables table %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}
