//go:build linux

package guestinit

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"time"
)

// setup does PID 1's work before the engine starts, in stages that
// overlap: the transport's modules first, then the host's connections are
// served (serial multiplexer, or the agent dialing the host) while the
// data disk, eth0, the shares and the engine's modules come up in
// parallel. It returns when the engine may start (data disk mounted,
// shares mounted, its modules in); the network comes up on its own. A data
// disk that cannot be used powers the VM off (never an engine on memory).
// The returned func loads the modules left for later; init calls it once
// the agent serves.
func setup(ctx context.Context, cfg Config, r *reaper) (later func()) {
	boot(cfg)
	start := time.Now()
	ml, err := newModuleLoader()
	if err != nil {
		logf("warning: kernel modules: %v", err)
	}
	plan := planModules(ml.names, cfg, onHyperV(cfg))
	// The transport's modules go first: the loads share one slot per CPU.
	n := ml.start(plan.transport)()
	logf("transport modules: %d in %s uptime=%s", n, since(start), uptime())
	engineMods := ml.start(plan.engine)
	disk, eth, shares := ml.start(plan.keep(diskModules)), ml.start(plan.keep(netModules)), ml.start(plan.keep(shareModules(cfg)))
	go serveSerial(ctx)
	if cfg.DialHost {
		go dialHost(ctx, cfg.Port) // dialhost_linux.go
	}
	go func() {
		eth()
		if err := setupNetwork(cfg.Static); err != nil {
			logf("warning: network: %v", err)
		}
	}()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		shares()
		mountAllShares(cfg)
	}()
	disk()
	if err := mountDataDisk(r, cfg.Disk, cfg.DataDir); err != nil && !errors.Is(err, errNoDisk) {
		// Running the engine on the memory-backed root would lose every
		// image and container the user makes at the next power off.
		logf("fatal: %v; powering off", err)
		shutdown(&engine{}, cfg)
	} else if err != nil {
		logf("warning: %v", err)
	}
	wg.Wait()
	n = engineMods()
	slow, err := ml.report(5)
	if err != nil {
		logf("warning: %v", err)
	}
	logf("engine setup: disk, shares and %d modules in %s (slowest: %s) uptime=%s", n, since(start), slow, uptime())
	return func() {
		t := time.Now()
		n := ml.start(plan.later)()
		logf("later modules: %d in %s uptime=%s", n, since(t), uptime())
	}
}

// mountAllShares mounts the folder shares of every kind and sets Rosetta
// up; failures are reported, never fatal.
func mountAllShares(cfg Config) {
	if err := mountShares(cfg.Shares); err != nil {
		logf("warning: %v", err)
	}
	if err := mountHvShares(cfg.HvShares); err != nil { // hvshare_linux.go
		logf("warning: %v", err)
	}
	if err := setupRosetta(cfg.Rosetta); err != nil { // rosetta_linux.go
		logf("warning: %v", err)
	}
}

// onHyperV reports whether the VM runs under Hyper-V (the hcs driver): the
// command line says so (the agent dials the host, Plan 9 shares over
// hvsock, a SCSI data disk), or the firmware lists a VMBus device.
func onHyperV(cfg Config) bool {
	if cfg.DialHost || len(cfg.HvShares) > 0 || strings.HasPrefix(cfg.Disk, "/dev/sd") {
		return true
	}
	ents, _ := os.ReadDir("/sys/bus/acpi/devices")
	for _, e := range ents {
		n := strings.ToUpper(e.Name())
		if strings.HasPrefix(n, "VMBUS") || strings.HasPrefix(n, "MSFT1000") {
			return true
		}
	}
	return false
}

func since(t time.Time) time.Duration { return time.Since(t).Round(time.Millisecond) }
