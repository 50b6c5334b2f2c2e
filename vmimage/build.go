// Package vmimage builds berth's VM image: a Debian kernel and an
// initramfs holding berth-agent as /init, the kernel modules the engine
// needs (with their dependencies), crun and mke2fs with their shared
// libraries, and the CA roots, plus manifest.json with digests.
//
// The build is reproducible and needs no root: packages are unpacked with
// dpkg-deb -x, libraries are found through the ELF DT_NEEDED entries
// against the unpacked packages (never the build machine's), and the
// initramfs is a newc cpio written here with sorted entries, owner 0:0 and
// a fixed mtime, compressed with zstd.
package vmimage

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
)

// Options say what to build. Arch, Agent and Out are required.
type Options struct {
	// Arch is "amd64" or "arm64".
	Arch string
	// Agent is the berth-agent binary (static, for Arch) to install as /init.
	Agent string
	// Version is the berth version recorded in the manifest.
	Version string
	// Out is the output directory (created if needed).
	Out string
	// Debs are package files to use instead of downloading a package of
	// the same name (e.g. a kernel: any linux-image-* package).
	Debs []string
	// Cache holds downloaded packages; empty means a temporary directory.
	Cache string
	// Mtime is the modification time of every initramfs entry (seconds
	// since 1970; SOURCE_DATE_EPOCH).
	Mtime int64
}

// Result is what Build made.
type Result struct {
	Manifest Manifest
	Dir      string
}

// Build builds the image described by opts into opts.Out.
func Build(ctx context.Context, opts Options) (Result, error) {
	ai, err := lookupArch(opts.Arch)
	if err != nil {
		return Result{}, err
	}
	if opts.Agent == "" || opts.Out == "" {
		return Result{}, fmt.Errorf("vmimage: Agent and Out are required: %w", errdefs.ErrInvalidArgument)
	}
	work, err := os.MkdirTemp("", "berth-vmimage-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(work)
	if opts.Cache == "" {
		opts.Cache = filepath.Join(work, "cache")
	}
	kdeb, udebs, err := collectDebs(ctx, ai, opts)
	if err != nil {
		return Result{}, err
	}
	root, kroot := filepath.Join(work, "root"), filepath.Join(work, "kernel")
	for _, d := range udebs {
		if err := extractDeb(ctx, d, root); err != nil {
			return Result{}, err
		}
	}
	if err := extractDeb(ctx, kdeb, kroot); err != nil {
		return Result{}, err
	}
	m := Manifest{Version: opts.Version, Arch: opts.Arch, Kernel: KernelFile, Initramfs: InitramfsFile,
		KernelFormat: ai.KernelFormat, Packages: map[string]string{}, Digests: map[string]string{}}
	for _, d := range append(udebs, kdeb) {
		m.Packages[d.Package] = d.Version
	}
	t := newTree()
	kimg, err := addKernel(t, kroot, &m)
	if err != nil {
		return Result{}, err
	}
	if err := addUserland(t, root, ai, opts); err != nil {
		return Result{}, err
	}
	if err := writeOutputs(opts, t, kimg, &m); err != nil {
		return Result{}, err
	}
	log.G(ctx).WithField("size", m.InitramfsSize).Debug("vmimage: built")
	return Result{Manifest: m, Dir: opts.Out}, nil
}

// collectDebs returns the kernel package and the userland packages: the
// given files first, the rest from the cache or apt.
func collectDebs(ctx context.Context, ai archInfo, opts Options) (deb, []deb, error) {
	given := map[string]deb{}
	var kdeb deb
	for _, f := range opts.Debs {
		d, err := inspectDeb(ctx, f)
		if err != nil {
			return deb{}, nil, err
		}
		if d.Arch != ai.Debian && d.Arch != "all" {
			return deb{}, nil, fmt.Errorf("package file %s is for %s, not %s: %w", f, d.Arch, ai.Debian, errdefs.ErrInvalidArgument)
		}
		if strings.HasPrefix(d.Package, "linux-image-") {
			kdeb = d
			continue
		}
		given[d.Package] = d
	}
	var want []string
	if kdeb.File == "" {
		kpkg, err := dependsOn(ctx, ai.KernelMeta, ai.Debian, "linux-image-")
		if err != nil {
			return deb{}, nil, err
		}
		want = append(want, kpkg)
	}
	for _, p := range userPackages {
		if _, ok := given[p]; !ok {
			want = append(want, p)
		}
	}
	refs := map[string]pkgRef{}
	if len(want) > 0 {
		var err error
		if refs, err = candidates(ctx, want, ai.Debian); err != nil {
			return deb{}, nil, err
		}
	}
	var out []deb
	for i, p := range want {
		d, err := fetchDeb(ctx, opts.Cache, p, ai.Debian, refs[p])
		if err != nil {
			return deb{}, nil, err
		}
		if i == 0 && kdeb.File == "" {
			kdeb = d
			continue
		}
		given[p] = d
	}
	for _, p := range userPackages {
		out = append(out, given[p])
	}
	return kdeb, out, nil
}

// addKernel adds the modules the engine needs and modules.dep to t, and
// returns the kernel image (uncompressed for arm64).
func addKernel(t *tree, kroot string, m *Manifest) ([]byte, error) {
	mods, err := filepath.Glob(filepath.Join(kroot, "lib", "modules", "*"))
	if err != nil || len(mods) != 1 {
		return nil, fmt.Errorf("kernel package: want one lib/modules/<version>, found %d: %w", len(mods), errdefs.ErrInvalidArgument)
	}
	kver := filepath.Base(mods[0])
	m.KernelVersion = kver
	mt, err := openModuleTree(mods[0])
	if err != nil {
		return nil, err
	}
	want := append([]string(nil), RequiredModules...)
	for _, o := range OptionalModules {
		if _, ok := mt.paths[modName(o)]; ok {
			want = append(want, o)
		}
	}
	order, deps, err := mt.resolve(want)
	if err != nil {
		return nil, err
	}
	base := "lib/modules/" + kver + "/"
	for _, n := range order {
		b, err := os.ReadFile(filepath.Join(mods[0], mt.paths[n]))
		if err != nil {
			return nil, err
		}
		t.addFile(base+mt.paths[n], 0o644, b)
	}
	m.Modules = order
	t.addFile(base+"modules.dep", 0o644, mt.modulesDep(order, deps))
	for _, f := range []string{"modules.builtin", "modules.order"} {
		if b, err := os.ReadFile(filepath.Join(mods[0], f)); err == nil {
			t.addFile(base+f, 0o644, b)
		}
	}
	kimg, err := os.ReadFile(filepath.Join(kroot, "boot", "vmlinuz-"+kver))
	if err != nil {
		return nil, fmt.Errorf("kernel package has no boot/vmlinuz-%s: %w", kver, err)
	}
	if m.KernelFormat == "Image" && bytes.HasPrefix(kimg, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(bytes.NewReader(kimg))
		if err != nil {
			return nil, fmt.Errorf("kernel vmlinuz-%s: %w", kver, err)
		}
		if kimg, err = io.ReadAll(zr); err != nil {
			return nil, fmt.Errorf("kernel vmlinuz-%s: %w", kver, err)
		}
	}
	return kimg, nil
}
