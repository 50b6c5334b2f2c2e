package client

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/host/machine"
)

type machineInitOptions struct {
	driver     string
	cpus       int
	memory     string
	disk       string
	insecure   []string
	shares     []string
	forwardAll bool
	rosetta    bool
	addresses  []string
	image      string
}

func (c *cli) newMachineInitCommand() *cobra.Command {
	var o machineInitOptions
	cmd := &cobra.Command{
		Use:   "init [NAME]",
		Short: "Create a machine",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := o.config(c.machineArg(args))
			if err != nil {
				return flagError(cmd, err)
			}
			ref := ""
			if isImageRef(o.image) {
				ref = o.image
			}
			return c.machineInit(cmd.Context(), cfg, ref)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.driver, "driver", "", `driver that runs the machine: native (Linux), qemu, vz (macOS), hcs (Windows) (default: the OS's)`)
	f.IntVar(&o.cpus, "cpus", machine.DefaultCPUs, "number of CPUs (VM drivers)")
	f.StringVar(&o.memory, "memory", units.BytesSize(machine.DefaultMemory), "memory size, e.g. 4GiB (VM drivers)")
	f.StringVar(&o.disk, "disk", units.BytesSize(machine.DefaultDisk), "data disk size, e.g. 100GiB (VM drivers)")
	f.StringArrayVar(&o.insecure, "insecure-registry", nil, "registry that may be reached over plain HTTP (repeatable)")
	f.StringArrayVar(&o.shares, "share", nil, "host folder to share into the machine at the same path, beside the OS's defaults (repeatable)")
	f.StringArrayVar(&o.addresses, "forward-address", nil, "host address published ports listen on when -p gives none (repeatable; default 127.0.0.1 and ::1)")
	f.StringVar(&o.image, "image", "", "VM image: a dir (kernel, initramfs, manifest.json from berth-vmimage build) or a registry reference pushed by berth-vmimage build --push (VM drivers; default: beside the binary)")
	f.BoolVar(&o.forwardAll, "forward-all", false, "also forward to localhost the ports that processes in --network host containers listen on")
	f.BoolVar(&o.rosetta, "rosetta", false, "run amd64 binaries through Apple's Rosetta (vz driver on Apple silicon)")
	return cmd
}

// config turns the flags into a machine config.
func (o machineInitOptions) config(name string) (machine.Config, error) {
	cfg := machine.Config{Name: name, Driver: o.driver, CPUs: o.cpus, InsecureRegistries: o.insecure}
	var err error
	if cfg.Memory, err = units.RAMInBytes(o.memory); err != nil {
		return cfg, fmt.Errorf("invalid --memory %q: %w", o.memory, err)
	}
	if cfg.Disk, err = units.RAMInBytes(o.disk); err != nil {
		return cfg, fmt.Errorf("invalid --disk %q: %w", o.disk, err)
	}
	if o.cpus < 1 {
		return cfg, fmt.Errorf("invalid --cpus %d: must be at least 1", o.cpus)
	}
	if cfg.Shares, err = shareFlags(o.shares); err != nil {
		return cfg, err
	}
	if o.image != "" && !isImageRef(o.image) {
		if cfg.Image, err = filepath.Abs(o.image); err != nil {
			return cfg, fmt.Errorf("invalid --image %q: %w", o.image, err)
		}
	}
	cfg.ForwardAll = o.forwardAll
	cfg.Rosetta = o.rosetta
	cfg.ForwardAddresses = o.addresses
	if _, err := cfg.DefaultForwardAddrs(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// isImageRef says whether --image names a VM image artifact in a registry
// ("ghcr.io/berth-dev/vmimage:v1-arm64") rather than a directory: it is no
// existing path and has a registry host and a tag or digest.
func isImageRef(s string) bool {
	if _, err := os.Stat(s); err == nil || filepath.IsAbs(s) || strings.HasPrefix(s, ".") {
		return false
	}
	host, rest, ok := strings.Cut(s, "/")
	return ok && strings.ContainsAny(host, ".:") && strings.ContainsAny(rest, ":@")
}

func (c *cli) machineInit(ctx context.Context, cfg machine.Config, imageRef string) error {
	if imageRef != "" {
		dir, err := c.fetchImage(ctx, imageRef)
		if err != nil {
			return err
		}
		cfg.Image = dir
	}
	m, err := c.machines().Create(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.out, m.Name)
	return nil
}
