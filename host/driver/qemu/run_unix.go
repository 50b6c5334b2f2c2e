//go:build linux || darwin

package qemu

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"

	"github.com/berth-dev/berth/host/driver"
	"github.com/berth-dev/berth/host/internal/errkind"
	"github.com/berth-dev/berth/host/share"
	"github.com/berth-dev/berth/host/transport"
)

// Driver runs one machine's VM.
type Driver struct {
	info
	f    Factory
	inst driver.Instance

	mu  sync.Mutex
	run *vmRun
}

var _ driver.Driver = (*Driver)(nil)

func newDriver(f Factory, inst driver.Instance) *Driver { return &Driver{f: f, inst: inst} }

// vmRun is one life of the qemu process.
type vmRun struct {
	cmd      *exec.Cmd
	helpers  []*exec.Cmd
	dialer   transport.Dialer
	closer   io.Closer // the serial mux, if any
	stderr   *tailBuffer
	done     chan struct{} // closed when qemu has exited and was reaped
	stopping atomic.Bool
	bootErr  atomic.Pointer[error]
}

func (r *vmRun) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// Start boots the VM. It returns once qemu runs (its QMP socket answers);
// a watchdog kills the VM when the agent's connection does not answer
// within the boot timeout, and the exit channel then says why, quoting the
// console log.
func (d *Driver) Start(ctx context.Context) (<-chan error, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.run != nil && !d.run.exited() {
		return nil, errkind.New(errdefs.ErrAlreadyExists, "machine %q is already running", d.inst.Name)
	}
	qemu, err := d.f.qemuPath()
	if err != nil {
		return nil, err
	}
	plan, err := d.plan(ctx)
	if err != nil {
		return nil, err
	}
	killStale(ctx, d.inst.Dir)
	d.cleanSockets()
	// qemu truncates the console log: keep the last boot's (a crash's).
	os.Rename(d.consolePath(), d.consolePath()+".1")
	run := &vmRun{done: make(chan struct{}), stderr: &tailBuffer{max: 4096}}
	if err := d.startHelpers(ctx, run, plan); err != nil {
		return nil, err
	}
	exitc := make(chan error, 1)
	if err := d.startQEMU(run, qemu, plan.Args, exitc); err != nil {
		stopHelpers(run)
		return nil, err
	}
	if err := d.waitQMP(ctx, run); err != nil {
		d.kill(run)
		return nil, err
	}
	d.run = run
	go d.watchBoot(run)
	log.G(ctx).WithField("machine", d.inst.Name).WithField("pid", run.cmd.Process.Pid).Info("qemu started")
	return exitc, nil
}

// plan finds the image and builds the command line.
func (d *Driver) plan(ctx context.Context) (Plan, error) {
	img, err := d.f.findImage(d.inst.Image)
	if err != nil {
		return Plan{}, err
	}
	if usePVH(runtime.GOOS, runtime.GOARCH) {
		if k, err := pvhKernel(img.Kernel, d.inst.Dir); err == nil {
			img.Kernel = k // qemu boots the ELF through its PVH entry (pvh.go)
		} else {
			log.G(ctx).WithError(err).Warn("booting the compressed kernel instead of its PVH entry (slower)")
		}
	}
	disk := filepath.Join(d.inst.Dir, diskFile)
	if _, err := os.Stat(disk); err != nil {
		return Plan{}, errkind.New(errdefs.ErrFailedPrecondition, "machine %q has no data disk (%v); remove and init it again", d.inst.Name, err)
	}
	if err := checkDisk(disk); err != nil {
		return Plan{}, err
	}
	seed := make([]byte, 32)
	rand.Read(seed)
	in := Input{Name: d.inst.Name, Dir: d.inst.Dir, CPUs: d.inst.CPUs, MemoryBytes: d.inst.MemoryBytes,
		Image: img, GOARCH: runtime.GOARCH, Accel: accel(), Virtiofsd: d.f.virtiofsd(),
		Shares: existingShares(d.shares()), Now: time.Now(), Seed: seed}
	if vsockAvailable() {
		in.VsockCID = vsockCID(d.inst.Dir)
	}
	return BuildPlan(in)
}

// shares are the factory's shares plus the machine's own, each once.
func (d *Driver) shares() []share.Share {
	out := append([]share.Share(nil), d.f.Shares...)
	for _, p := range d.inst.Shares {
		dup := false
		for _, s := range out {
			dup = dup || s.VMPath == p
		}
		if !dup {
			out = append(out, share.Share{HostPath: p, VMPath: p})
		}
	}
	return out
}

// existingShares drops shared folders that do not exist on this host.
func existingShares(in []share.Share) []share.Share {
	var out []share.Share
	for _, s := range in {
		if fi, err := os.Stat(s.HostPath); err == nil && fi.IsDir() {
			out = append(out, s)
		}
	}
	return out
}

// startHelpers starts one virtiofsd per share and waits for its socket.
func (d *Driver) startHelpers(ctx context.Context, run *vmRun, plan Plan) error {
	for _, v := range plan.Virtiofsd {
		cmd := exec.Command(d.f.virtiofsd(), v.Args...)
		cmd.Stdout, cmd.Stderr = d.inst.Log, d.inst.Log
		setProcAttr(cmd)
		if err := cmd.Start(); err != nil {
			stopHelpers(run)
			return fmt.Errorf("start virtiofsd: %w", err)
		}
		run.helpers = append(run.helpers, cmd)
		if err := waitFile(ctx, v.Socket, 10*time.Second); err != nil {
			stopHelpers(run)
			return fmt.Errorf("virtiofsd for %s did not start: %w", v.Socket, err)
		}
	}
	return nil
}

func stopHelpers(run *vmRun) {
	for _, h := range run.helpers {
		h.Process.Kill()
		h.Wait()
	}
}

// startQEMU starts qemu and the goroutine that reaps it.
func (d *Driver) startQEMU(run *vmRun, qemu string, args []string, exitc chan<- error) error {
	cmd := exec.Command(qemu, args...)
	var out io.Writer = run.stderr
	if d.inst.Log != nil {
		out = io.MultiWriter(run.stderr, d.inst.Log)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Dir = d.inst.Dir
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", qemu, err)
	}
	run.cmd = cmd
	pid := filepath.Join(d.inst.Dir, pidFile)
	if err := os.WriteFile(pid, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o600); err != nil {
		log.L.WithError(err).Warn("cannot record qemu's pid")
	}
	go func() {
		werr := cmd.Wait()
		stopHelpers(run)
		if run.closer != nil {
			run.closer.Close()
		}
		os.Remove(pid)
		d.cleanSockets() // virtiofsd leaves its sockets behind
		err := d.exitError(run, werr)
		// done first: whoever hears of the exit on exitc (the daemon, then
		// calling Stop) must find the run exited, or Stop would try to
		// shut down a VM that is gone and warn that qemu did not quit.
		close(run.done)
		exitc <- err
		close(exitc)
	}()
	return nil
}

// exitError says why qemu exited: nil when asked to or when the guest
// powered off cleanly, else an error with qemu's output and the console.
func (d *Driver) exitError(run *vmRun, werr error) error {
	if p := run.bootErr.Load(); p != nil {
		return *p
	}
	if run.stopping.Load() {
		return nil
	}
	panicLine := kernelPanic(consoleTail(d.inst.Dir, consoleScan))
	if werr == nil && panicLine == "" {
		return nil // the guest powered off (System.Shutdown)
	}
	msg := "the VM stopped"
	switch {
	case panicLine != "":
		msg = "the VM's kernel panicked (" + panicLine + ")"
	case werr != nil:
		msg = fmt.Sprintf("qemu exited (%v)", werr)
	}
	return errors.New(msg + outputNote("qemu said", run.stderr.String()) + d.consoleNote())
}

func (d *Driver) consolePath() string { return filepath.Join(d.inst.Dir, consoleFile) }

// consoleNote quotes the console log for an error message: its last
// lines, or those up to a kernel panic (not the call trace after it).
func (d *Driver) consoleNote() string {
	if ex := consoleExcerpt(consoleTail(d.inst.Dir, consoleScan)); ex != "" {
		return outputNote("the console log "+d.consolePath()+" ends", ex)
	}
	return "; the console log " + d.consolePath() + " is empty (the kernel printed nothing)"
}

// waitQMP waits until qemu's QMP socket accepts, or qemu exits.
func (d *Driver) waitQMP(ctx context.Context, run *vmRun) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	sock := filepath.Join(d.inst.Dir, qmpSocket)
	for {
		// QMP answers once qemu has set the machine up (kernel loaded).
		if err := qmpCommand(ctx, sock, "query-status"); err == nil {
			break
		}
		select {
		case <-run.done:
			return fmt.Errorf("machine %q: qemu failed to start%s", d.inst.Name, outputNote("qemu said", run.stderr.String()))
		case <-ctx.Done():
			return fmt.Errorf("machine %q: qemu did not open its QMP socket: %w", d.inst.Name, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if vsockAvailable() && strings.Contains(strings.Join(run.cmd.Args, " "), "vhost-vsock-pci") {
		run.dialer = transport.Vsock{CID: vsockCID(d.inst.Dir), Port: agentPort}
		return nil
	}
	mux := transport.NewSerialMux(transport.Unix{Path: filepath.Join(d.inst.Dir, agentSocket)})
	run.dialer, run.closer = mux, mux
	return nil
}

// watchBoot kills the VM when the agent's connection does not answer in
// time, recording an error that quotes the console log.
func (d *Driver) watchBoot(run *vmRun) {
	timeout := d.f.BootTimeout
	if timeout == 0 {
		timeout = DefaultBootTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := transport.Retry(ctx, run.dialer, run.done)
	if err == nil {
		c.Close()
		return
	}
	if run.exited() || run.stopping.Load() {
		return
	}
	berr := errkind.New(errdefs.ErrUnavailable, "machine %q: the VM did not become ready within %s (%v)%s",
		d.inst.Name, timeout, err, d.consoleNote())
	run.bootErr.Store(&berr)
	d.kill(run)
}

// kill kills qemu and waits until it is reaped.
func (d *Driver) kill(run *vmRun) {
	run.cmd.Process.Kill()
	<-run.done
}

// DialAgent opens a new connection to the agent.
func (d *Driver) DialAgent(ctx context.Context) (net.Conn, error) {
	d.mu.Lock()
	run := d.run
	d.mu.Unlock()
	if run == nil || run.exited() {
		return nil, errkind.New(errdefs.ErrUnavailable, "machine %q is not running", d.inst.Name)
	}
	return run.dialer.Dial(ctx)
}

// cleanSockets removes the sockets a killed qemu or virtiofsd left
// behind (only the driver's own: the machine dir holds others').
func (d *Driver) cleanSockets() {
	ms, _ := filepath.Glob(filepath.Join(d.inst.Dir, "fs[0-9]*.sock"))
	for _, m := range append(ms, filepath.Join(d.inst.Dir, qmpSocket), filepath.Join(d.inst.Dir, agentSocket)) {
		os.Remove(m)
	}
}

// Create checks qemu and the image, and makes the data disk.
func (d *Driver) Create(ctx context.Context) error {
	if _, err := d.f.qemuPath(); err != nil {
		return err
	}
	img, err := d.f.findImage(d.inst.Image)
	if err != nil {
		return err
	}
	if err := createDisk(filepath.Join(d.inst.Dir, diskFile), d.inst.DiskBytes); err != nil {
		return err
	}
	if usePVH(runtime.GOOS, runtime.GOARCH) {
		// Decompress the kernel now, so that the first start is fast; a
		// failure is logged again (and the bzImage booted) at Start.
		if _, err := pvhKernel(img.Kernel, d.inst.Dir); err != nil {
			log.G(ctx).WithError(err).Debug("no PVH kernel")
		}
	}
	return nil
}

// Delete removes the machine's disk, console log and sockets.
func (d *Driver) Delete(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.run != nil && !d.run.exited() {
		return errkind.New(errdefs.ErrFailedPrecondition, "machine %q is running; stop it first", d.inst.Name)
	}
	d.cleanSockets()
	vmlinux, _ := filepath.Glob(filepath.Join(d.inst.Dir, vmlinuxPrefix+"*"))
	for _, f := range vmlinux {
		os.Remove(f)
	}
	for _, f := range []string{diskFile, diskFile + ".tmp", consoleFile, consoleFile + ".1", pidFile} {
		if err := os.Remove(filepath.Join(d.inst.Dir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("machine %q: %w", d.inst.Name, err)
		}
	}
	return nil
}
