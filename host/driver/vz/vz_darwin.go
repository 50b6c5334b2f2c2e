//go:build darwin && cgo

package vz

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/Code-Hex/vz/v3"
	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/host/driver"
	"github.com/berth-dev/berth/host/internal/errkind"
)

// Driver runs one machine's VM inside this process.
type Driver struct {
	f    Factory
	inst driver.Instance

	mu       sync.Mutex
	vm       *vz.VirtualMachine
	sock     *vz.VirtioSocketDevice
	port     uint32
	stopping bool
	done     chan struct{} // closed when the running VM has stopped
	console  *console      // the serial console's files
}

var _ driver.Driver = (*Driver)(nil)

// Available checks the macOS version; the entitlement is checked when the
// VM is configured, where the framework reports it.
func (Factory) Available() error {
	v, err := unix.Sysctl("kern.osproductversion")
	if err != nil {
		return errkind.New(errdefs.ErrFailedPrecondition, "cannot read the macOS version: %v", err)
	}
	return checkMacOS(v)
}

// New returns the driver for inst.
func (f Factory) New(inst driver.Instance) (driver.Driver, error) {
	return &Driver{f: f, inst: inst}, nil
}

// Name returns "vz".
func (d *Driver) Name() string { return Name }

// Features: a VM.
func (d *Driver) Features() driver.Features { return features }

// Create checks the configuration and makes the sparse raw data disk.
func (d *Driver) Create(ctx context.Context) error {
	cfg, err := d.config()
	if err != nil {
		return err
	}
	if cfg.Rosetta {
		if err := rosettaAvailable(); err != nil {
			return err
		}
	}
	return createDisk(cfg.Disk, cfg.DiskBytes)
}

func (d *Driver) config() (Config, error) {
	in, err := d.f.input(d.inst)
	if err != nil {
		return Config{}, err
	}
	return BuildConfig(in)
}

// createDisk makes a sparse file of size bytes at path, keeping an
// existing disk (and its data) as it is.
func createDisk(path string, size int64) error {
	fh, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create data disk: %w", err)
	}
	defer fh.Close()
	if err := fh.Truncate(size); err != nil {
		os.Remove(path)
		return fmt.Errorf("size data disk %s: %w", path, err)
	}
	return fh.Sync()
}

// Start configures and boots the VM.
func (d *Driver) Start(ctx context.Context) (<-chan error, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.vm != nil {
		return nil, errkind.New(errdefs.ErrAlreadyExists, "machine %q is already running", d.inst.Name)
	}
	in, err := d.f.input(d.inst)
	if err != nil {
		return nil, err
	}
	in.Now, in.Seed = time.Now(), make([]byte, 32)
	_, _ = rand.Read(in.Seed)
	cfg, err := BuildConfig(in)
	if err != nil {
		return nil, err
	}
	if err := createDisk(cfg.Disk, cfg.DiskBytes); err != nil {
		return nil, err
	}
	con, err := newConsole()
	if err != nil {
		return nil, err
	}
	vmCfg, err := vmConfiguration(cfg, con.in, con.w)
	var vm *vz.VirtualMachine
	if err == nil {
		vm, err = vz.NewVirtualMachine(vmCfg)
	}
	if err == nil {
		err = vm.Start()
	}
	if err != nil {
		con.close()
		return nil, explainVZError("start the VM", err)
	}
	socks := vm.SocketDevices()
	if len(socks) == 0 {
		_ = vm.Stop()
		con.close()
		return nil, errkind.New(errdefs.ErrUnknown, "the VM has no virtio socket device")
	}
	d.vm, d.sock, d.port, d.stopping, d.console = vm, socks[0], cfg.VsockPort, false, con
	d.done = make(chan struct{})
	go copyConsole(d.inst.Log, con.r)
	exited := make(chan error, 1)
	go d.watch(vm, d.done, exited)
	return exited, nil
}

// console holds the files of the serial console: the guest reads in
// (/dev/null) and writes w, the driver copies r into the machine's log.
type console struct{ in, r, w *os.File }

func newConsole() (*console, error) {
	in, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		in.Close()
		return nil, err
	}
	return &console{in: in, r: r, w: w}, nil
}

func (c *console) close() {
	c.in.Close()
	c.w.Close()
	c.r.Close()
}

// copyConsole copies the guest's console into the machine's log.
func copyConsole(w io.Writer, r io.Reader) {
	if w == nil {
		w = io.Discard
	}
	_, _ = io.Copy(w, r)
}

// watch waits until vm stops and reports why on exited.
func (d *Driver) watch(vm *vz.VirtualMachine, done chan struct{}, exited chan<- error) {
	var err error
	for st := range vm.StateChangedNotify() {
		if st == vz.VirtualMachineStateStopped || st == vz.VirtualMachineStateError {
			if st == vz.VirtualMachineStateError {
				err = errors.New("the VM stopped with an error; see the machine's log")
			}
			break
		}
	}
	d.mu.Lock()
	if err == nil && !d.stopping {
		err = errors.New("the VM stopped on its own (the guest powered off or crashed)")
	}
	if d.vm == vm {
		d.vm, d.sock = nil, nil
		if d.console != nil {
			d.console.close()
			d.console = nil
		}
	}
	d.mu.Unlock()
	close(done)
	exited <- err
	close(exited)
}

// Stop asks the guest to power off, and stops the VM when ctx ends first.
func (d *Driver) Stop(ctx context.Context) error {
	d.mu.Lock()
	vm, done := d.vm, d.done
	if vm == nil {
		d.mu.Unlock()
		return nil
	}
	d.stopping = true
	d.mu.Unlock()
	if vm.CanRequestStop() {
		if _, err := vm.RequestStop(); err != nil {
			log.G(ctx).WithError(err).Warn("vz: graceful stop request failed")
		}
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	if vm.CanStop() {
		if err := vm.Stop(); err != nil {
			return explainVZError("stop the VM", err)
		}
	}
	<-done
	return nil
}

// Delete removes the data disk.
func (d *Driver) Delete(ctx context.Context) error {
	if err := os.Remove(d.diskPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// DialAgent opens a vsock connection to the agent's port.
func (d *Driver) DialAgent(ctx context.Context) (net.Conn, error) {
	d.mu.Lock()
	sock, port := d.sock, d.port
	d.mu.Unlock()
	if sock == nil {
		return nil, errkind.New(errdefs.ErrUnavailable, "machine %q is not running", d.inst.Name)
	}
	c, err := connectRetry(ctx, func() (net.Conn, error) {
		vc, err := sock.Connect(port)
		if err != nil {
			return nil, err
		}
		return vc, nil
	}, attemptTimeout, dialWindow, retryEvery)
	if err != nil {
		return nil, fmt.Errorf("vsock port %d: %w", port, err)
	}
	return c, nil
}

var _ driver.MemoryBalloon = (*Driver)(nil)

// SetMemoryTarget asks the guest, through the balloon, to use at most
// bytes; the memory it gives up returns to macOS.
func (d *Driver) SetMemoryTarget(_ context.Context, bytes uint64) error {
	d.mu.Lock()
	vm := d.vm
	d.mu.Unlock()
	if vm == nil {
		return errkind.New(errdefs.ErrUnavailable, "machine %q is not running", d.inst.Name)
	}
	for _, b := range vm.MemoryBalloonDevices() {
		if tb := vz.AsVirtioTraditionalMemoryBalloonDevice(b); tb != nil {
			tb.SetTargetVirtualMachineMemorySize(bytes)
			return nil
		}
	}
	return errkind.New(errdefs.ErrNotImplemented, "the VM has no memory balloon")
}
