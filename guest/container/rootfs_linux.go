package container

import (
	"context"
	"errors"
	"fmt"
	"github.com/berth-dev/berth/guest/internal/steptimer"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// prepare creates the state dir, mounts the rootfs and writes the bundle.
// meta.json, the one file written durably, is written (and fsynced) while
// the rest is prepared.
func (c *Container) prepare(ctx context.Context) error {
	sp := steptimer.New(ctx, "runtime prepare", c.id)
	defer sp.Log()
	if err := os.Mkdir(c.dir, 0o711); err != nil {
		return fmt.Errorf("container %s: state dir: %w", c.id, err)
	}
	// state.json is first written at the first start: a missing one reads
	// as the empty state of a created container (one fsync less).
	meta := make(chan error, 1)
	go func() { meta <- writeJSONAtomic(filepath.Join(c.dir, "meta.json"), c.cfg) }()
	err := c.prepareBundle(sp)
	if merr := <-meta; err == nil {
		err = merr
	}
	sp.Done("meta")
	return err
}

// prepareBundle mounts the rootfs and writes the /etc files and the spec.
func (c *Container) prepareBundle(sp *steptimer.Steps) error {
	if err := c.mountRootfs(); err != nil {
		return err
	}
	sp.Done("rootfs")
	if err := c.writeEtcFiles(); err != nil {
		return err
	}
	sp.Done("etc")
	err := c.writeSpec()
	sp.Done("spec")
	return err
}

func (c *Container) rootfs() string { return filepath.Join(c.dir, "rootfs") }

// mountRootfs mounts the overlay of the image's lower dirs and the
// container's upper dir (just a directory when there are no lowers). It is
// a no-op when already mounted (a restarted agent).
func (c *Container) mountRootfs() error {
	rootfs := c.rootfs()
	for _, d := range []string{rootfs, filepath.Join(c.dir, "upper"), filepath.Join(c.dir, "work")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("container %s: %w", c.id, err)
		}
	}
	if len(c.cfg.Lowers) == 0 {
		return nil
	}
	if m, err := mountinfo.Mounted(rootfs); err == nil && m {
		return nil
	}
	for _, l := range c.cfg.Lowers {
		if strings.ContainsAny(l, ":,") {
			return fmt.Errorf("container %s: layer path %q contains ':' or ',': %w", c.id, l, errInvalid)
		}
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s,index=off",
		strings.Join(c.cfg.Lowers, ":"), filepath.Join(c.dir, "upper"), filepath.Join(c.dir, "work"))
	if len(opts) >= unix.Getpagesize() {
		return fmt.Errorf("container %s: too many image layers for one overlay mount (%d): %w", c.id, len(c.cfg.Lowers), errInvalid)
	}
	if err := unix.Mount("overlay", rootfs, "overlay", 0, opts); err != nil {
		return fmt.Errorf("container %s: mount overlay rootfs: %w", c.id, err)
	}
	return nil
}

// cleanup removes the state dir and unmounts the rootfs: the dir is moved
// to the trash at once, the rootfs unmounted and the files deleted in the
// background (see trash_linux.go).
func (c *Container) cleanup(ctx context.Context) error {
	if err := c.rt.discard(ctx, c.dir); err != nil {
		return fmt.Errorf("container %s: remove state: %w", c.id, err)
	}
	return nil
}

func (c *Container) writeEtcFiles() error {
	n := c.cfg.Create.Network
	hosts, err := HostsFile(c.cfg.Create.ExtraHosts, n.HostsEntries)
	if err != nil {
		return err
	}
	resolv := n.ResolvConf
	if len(resolv) == 0 {
		if b, err := os.ReadFile("/etc/resolv.conf"); err == nil {
			resolv = b
		}
	}
	files := map[string][]byte{
		"hosts": []byte(hosts), "hostname": []byte(Hostname(c.specInput()) + "\n"), "resolv.conf": resolv,
	}
	for name, b := range files {
		if err := writeDerived(filepath.Join(c.dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func (c *Container) specInput() SpecInput {
	host, _ := os.Hostname()
	return SpecInput{
		ID: c.id, Image: c.cfg.Image, Create: c.cfg.Create, Rootfs: c.rootfs(),
		EtcHosts: filepath.Join(c.dir, "hosts"), EtcHostname: filepath.Join(c.dir, "hostname"),
		EtcResolvConf: filepath.Join(c.dir, "resolv.conf"),
		HardLimits:    currentHardLimits(), InitPath: c.rt.o.initPath, HostHostname: host,
		PrivateCgroupNS: cgroupV2(),
	}
}

// writeSpec generates config.json and creates the working directory.
func (c *Container) writeSpec() error {
	spec, err := GenerateSpec(c.specInput())
	if err != nil {
		return fmt.Errorf("container %s: %w", c.id, err)
	}
	if err := writeDerivedJSON(filepath.Join(c.dir, "config.json"), spec); err != nil {
		return err
	}
	wd, err := securejoin.SecureJoin(c.rootfs(), spec.Process.Cwd)
	if err != nil {
		return fmt.Errorf("container %s: working dir: %w", c.id, err)
	}
	if err := os.MkdirAll(wd, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("container %s: create working dir %s: %w", c.id, spec.Process.Cwd, err)
	}
	return nil
}

var rlimitNames = map[string]int{
	"RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_CPU": unix.RLIMIT_CPU, "RLIMIT_DATA": unix.RLIMIT_DATA,
	"RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS, "RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK,
	"RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE, "RLIMIT_NICE": unix.RLIMIT_NICE, "RLIMIT_NOFILE": unix.RLIMIT_NOFILE,
	"RLIMIT_NPROC": unix.RLIMIT_NPROC, "RLIMIT_RSS": unix.RLIMIT_RSS, "RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO,
	"RLIMIT_RTTIME": unix.RLIMIT_RTTIME, "RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING, "RLIMIT_STACK": unix.RLIMIT_STACK,
	"RLIMIT_AS": unix.RLIMIT_AS,
}

// currentHardLimits are this process's hard rlimits: a container cannot
// get more without CAP_SYS_RESOURCE.
func currentHardLimits() map[string]uint64 {
	out := map[string]uint64{}
	for name, res := range rlimitNames {
		var rl unix.Rlimit
		if unix.Getrlimit(res, &rl) == nil {
			out[name] = rl.Max
		}
	}
	return out
}
