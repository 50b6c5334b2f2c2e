//go:build windows

package hcs

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/Microsoft/go-winio"
	"github.com/Microsoft/go-winio/vhd"
	"github.com/Microsoft/hcsshim/osversion"
	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"golang.org/x/sys/windows"

	"github.com/berth-dev/berth/host/driver"
	"github.com/berth-dev/berth/host/driver/bootimage"
	"github.com/berth-dev/berth/host/internal/errkind"
	"github.com/berth-dev/berth/host/internal/hostmem"
	"github.com/berth-dev/berth/host/transport"
)

// pollEvery is how often a running VM's state is read.
const pollEvery = 500 * time.Millisecond

// Driver runs one machine's utility VM.
type Driver struct {
	f    Factory
	inst driver.Instance

	mu       sync.Mutex
	sys      *system
	dial     transport.Dialer
	accept   *transport.HvsockAccept
	console  net.Listener
	stopping bool
	done     chan struct{}
}

var _ driver.Driver = (*Driver)(nil)

// Available checks for HCS and a Windows build with direct kernel boot.
func (Factory) Available() error {
	if err := available(); err != nil {
		return errkind.New(errdefs.ErrFailedPrecondition,
			"Hyper-V is not available (%v); enable it: Enable-WindowsOptionalFeature -Online -FeatureName Microsoft-Hyper-V -All, then restart", err)
	}
	return checkBuild(osversion.Build())
}

// New returns the driver for inst.
func (f Factory) New(inst driver.Instance) (driver.Driver, error) {
	return &Driver{f: f, inst: inst}, nil
}

// Name returns "hcs".
func (d *Driver) Name() string { return Name }

// Features: a VM.
func (d *Driver) Features() driver.Features { return features }

func (d *Driver) diskPath() string { return filepath.Join(d.inst.Dir, diskFile) }

func (d *Driver) consolePipe() string { return `\\.\pipe\berth-` + d.inst.Name + "-console" }

// input gathers BuildDocument's input, checking the image and the shares.
func (d *Driver) input() (Input, error) {
	img, err := bootimage.Find(d.f.imageDirs())
	if err != nil {
		return Input{}, err
	}
	if err := img.CheckArch(runtime.GOARCH); err != nil {
		return Input{}, err
	}
	if err := checkFolders(d.f.Shares); err != nil {
		return Input{}, err
	}
	return Input{
		Name: d.inst.Name, CPUs: d.inst.CPUs, MemoryBytes: d.inst.MemoryBytes, Image: img,
		Disk: d.diskPath(), ConsolePipe: d.consolePipe(), Shares: d.f.Shares, Drives: drives(),
		GuestDials: d.f.Direction == transport.GuestDials, GOARCH: runtime.GOARCH,
		HostCPUs: runtime.NumCPU(), HostMemory: hostmem.Total(),
	}, nil
}

// drives lists the fixed drives' letters.
func drives() []string {
	mask, err := windows.GetLogicalDrives()
	if err != nil {
		return []string{"C"}
	}
	var out []string
	for i := 0; i < 26; i++ {
		if mask&(1<<i) == 0 {
			continue
		}
		l := string(rune('A' + i))
		if windows.GetDriveType(windows.StringToUTF16Ptr(l+`:\`)) == windows.DRIVE_FIXED {
			out = append(out, l)
		}
	}
	return out
}

// Create checks the configuration and makes the data disk.
func (d *Driver) Create(ctx context.Context) error {
	in, err := d.input()
	if err != nil {
		return err
	}
	if _, err := BuildDocument(in); err != nil {
		return err
	}
	return d.createDisk()
}

func (d *Driver) createDisk() error {
	if _, err := os.Stat(d.diskPath()); err == nil {
		return nil
	}
	gb := uint32((d.inst.DiskBytes + 1<<30 - 1) >> 30)
	if err := vhd.CreateVhdx(d.diskPath(), gb, 1); err != nil {
		return fmt.Errorf("create data disk %s: %w", d.diskPath(), err)
	}
	return nil
}

// Start creates the network endpoint and the VM, and starts it.
func (d *Driver) Start(ctx context.Context) (<-chan error, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sys != nil {
		return nil, errkind.New(errdefs.ErrAlreadyExists, "machine %q is already running", d.inst.Name)
	}
	in, err := d.input()
	if err != nil {
		return nil, err
	}
	if err := d.createDisk(); err != nil {
		return nil, err
	}
	n, err := ensureNetwork()
	if err != nil {
		return nil, err
	}
	ep, err := ensureEndpoint(n, d.inst.Name)
	if err != nil {
		return nil, err
	}
	in.Endpoint, in.MAC, in.Net = ep.Id, ep.MacAddress, netParam(ep)
	in.Now, in.Seed = time.Now(), make([]byte, 32)
	_, _ = rand.Read(in.Seed)
	doc, err := BuildDocument(in)
	if err != nil {
		return nil, err
	}
	if err := d.listenConsole(); err != nil {
		return nil, err
	}
	sys, err := d.boot(doc)
	if err != nil {
		d.console.Close()
		return nil, err
	}
	d.sys, d.stopping, d.done = sys, false, make(chan struct{})
	exited := make(chan error, 1)
	go d.watch(sys, d.done, exited)
	return exited, nil
}

// boot creates and starts the compute system and sets up the agent dialer.
func (d *Driver) boot(doc *ComputeSystem) (*system, error) {
	sys, err := createSystem("berth-"+d.inst.Name, doc)
	if err != nil {
		return nil, err
	}
	vmID, err := sys.runtimeID()
	if err == nil {
		err = d.setupDial(vmID)
	}
	if err == nil {
		err = sys.start()
	}
	if err != nil {
		_ = sys.terminate()
		sys.close()
		if d.accept != nil {
			d.accept.Close()
			d.accept = nil
		}
		return nil, err
	}
	return sys, nil
}

func (d *Driver) setupDial(vmID string) error {
	svc := transport.HvsockServiceID(bootimage.AgentPort)
	if d.f.Direction == transport.GuestDials {
		a, err := transport.ListenHvsock(vmID, svc)
		if err != nil {
			return err
		}
		d.accept, d.dial = a, a
		return nil
	}
	d.dial = transport.Hvsock{VMID: vmID, ServiceID: svc, Timeout: 2 * time.Second}
	return nil
}

// listenConsole serves the console pipe HCS connects COM1 to, copying it
// into the machine's log. Only the user and SYSTEM may open it.
func (d *Driver) listenConsole() error {
	l, err := winio.ListenPipe(d.consolePipe(), &winio.PipeConfig{SecurityDescriptor: "D:P(A;;GA;;;SY)(A;;GA;;;OW)"})
	if err != nil {
		return fmt.Errorf("console pipe %s: %w", d.consolePipe(), err)
	}
	d.console = l
	w := d.inst.Log
	if w == nil {
		w = io.Discard
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = io.Copy(w, c)
			c.Close()
		}
	}()
	return nil
}

// watch polls the VM's state until it has stopped (or is gone).
func (d *Driver) watch(sys *system, done chan struct{}, exited chan<- error) {
	for {
		st, err := sys.state()
		if err != nil || st == "Stopped" {
			break
		}
		time.Sleep(pollEvery)
	}
	d.mu.Lock()
	var err error
	if !d.stopping {
		err = errors.New("the VM stopped on its own (the guest powered off or crashed); see the machine's log")
	}
	d.release(sys)
	d.mu.Unlock()
	close(done)
	exited <- err
	close(exited)
}

// release closes what Start opened; d.mu is held.
func (d *Driver) release(sys *system) {
	if d.sys == sys {
		sys.close()
		d.sys, d.dial = nil, nil
		if d.accept != nil {
			d.accept.Close()
			d.accept = nil
		}
		if d.console != nil {
			d.console.Close()
			d.console = nil
		}
	}
}

// Stop shuts the guest down, terminating it when ctx ends first.
func (d *Driver) Stop(ctx context.Context) error {
	d.mu.Lock()
	sys, done := d.sys, d.done
	if sys == nil {
		d.mu.Unlock()
		return nil
	}
	d.stopping = true
	d.mu.Unlock()
	if err := sys.shutdown(); err != nil {
		log.G(ctx).WithError(err).Debug("hcs: graceful shutdown refused")
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	if err := sys.terminate(); err != nil {
		log.G(ctx).WithError(err).Warn("hcs: terminate")
	}
	<-done
	return nil
}

// Delete removes the data disk and the machine's network endpoint.
func (d *Driver) Delete(ctx context.Context) error {
	if err := os.Remove(d.diskPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if available() != nil {
		return nil
	}
	return deleteEndpoint(d.inst.Name)
}

// DialAgent opens a connection to the agent over hvsock.
func (d *Driver) DialAgent(ctx context.Context) (net.Conn, error) {
	d.mu.Lock()
	dial := d.dial
	d.mu.Unlock()
	if dial == nil {
		return nil, errkind.New(errdefs.ErrUnavailable, "machine %q is not running", d.inst.Name)
	}
	return dial.Dial(ctx)
}
