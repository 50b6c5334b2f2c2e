// Command berth-vmimage builds berth's VM image (kernel, initramfs and
// manifest.json) from Debian packages, and fetches one pushed to a
// registry (berth machine init --image REF runs the latter, so that the
// berth CLI itself links no HTTP or TLS client):
//
//	berth-vmimage build --arch amd64|arm64 --out DIR [--agent FILE] [--kernel-deb FILE] [--deb FILE]... [--cache DIR] [--push REF]
//	berth-vmimage pull --root DIR REF
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berth-dev/berth/proto/version"
	"github.com/berth-dev/berth/vmimage"
)

type listFlag []string

func (l *listFlag) String() string     { return fmt.Sprint([]string(*l)) }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

const usage = `usage: berth-vmimage build --arch amd64|arm64 --out DIR [--agent FILE] [--kernel-deb FILE] [--crun-deb FILE] [--deb FILE]... [--cache DIR] [--push REF]
       berth-vmimage pull --root DIR REF`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "build":
		os.Exit(build(os.Args[2:]))
	case "pull":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		code := pull(ctx, os.Args[2:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	fmt.Fprintln(os.Stderr, usage)
	os.Exit(2)
}

func build(args []string) int {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	var (
		opts               vmimage.Options
		debs               listFlag
		kernelDeb, crunDeb string
		module, push       string
	)
	fs.StringVar(&opts.Arch, "arch", "amd64", "architecture: amd64 or arm64")
	fs.StringVar(&opts.Out, "out", "", "output directory (kernel, initramfs, manifest.json)")
	fs.StringVar(&opts.Agent, "agent", "", "berth-agent binary to use as /init (default: build it from --module)")
	fs.StringVar(&module, "module", ".", "berth source tree to build the agent from")
	fs.StringVar(&kernelDeb, "kernel-deb", "", "Debian linux-image-* package file to use")
	fs.StringVar(&crunDeb, "crun-deb", "", "Debian crun package file to use")
	fs.Var(&debs, "deb", "Debian package file to use instead of downloading that package (repeatable)")
	fs.StringVar(&opts.Cache, "cache", defaultCache(), "directory keeping downloaded packages")
	fs.StringVar(&push, "push", "", "also push the image to this registry reference as an OCI artifact")
	fs.StringVar(&opts.Version, "version", version.Version, "berth version recorded in the manifest")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if opts.Out == "" {
		fmt.Fprintln(os.Stderr, "berth-vmimage: --out DIR is required")
		return 2
	}
	for _, f := range []string{kernelDeb, crunDeb} {
		if f != "" {
			debs = append(debs, f)
		}
	}
	opts.Debs = debs
	opts.Mtime = sourceDateEpoch()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if opts.Agent == "" {
		tmp, err := os.MkdirTemp("", "berth-vmimage-agent-")
		if err != nil {
			fmt.Fprintf(os.Stderr, "berth-vmimage: %v\n", err)
			return 1
		}
		defer os.RemoveAll(tmp)
		ld := "-X github.com/berth-dev/berth/proto/version.Version=" + opts.Version
		if opts.Agent, err = vmimage.BuildAgent(ctx, module, opts.Arch, tmp, ld); err != nil {
			fmt.Fprintf(os.Stderr, "berth-vmimage: %v\n", err)
			return 1
		}
	}
	return buildAndPush(ctx, opts, push)
}

// buildAndPush builds the image, prints its size and pushes it when asked.
func buildAndPush(ctx context.Context, opts vmimage.Options, push string) int {
	res, err := vmimage.Build(ctx, opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "berth-vmimage: %v\n", err)
		return 1
	}
	m := res.Manifest
	fmt.Printf("%s: kernel %s (%s), %d modules, initramfs %.1f MB (%d bytes)\n",
		res.Dir, m.KernelVersion, m.Arch, len(m.Modules), float64(m.InitramfsSize)/1e6, m.InitramfsSize)
	if push != "" {
		d, err := vmimage.Push(ctx, res.Dir, push, remote.WithAuthFromKeychain(authn.DefaultKeychain))
		if err != nil {
			fmt.Fprintf(os.Stderr, "berth-vmimage: %v\n", err)
			return 1
		}
		fmt.Printf("pushed %s@%s\n", push, d)
	}
	return 0
}

// defaultCache is the per-user cache directory for downloaded packages.
func defaultCache() string {
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "berth", "vmimage-debs")
}

// sourceDateEpoch is SOURCE_DATE_EPOCH (reproducible builds), or 0.
func sourceDateEpoch() int64 {
	n, err := strconv.ParseInt(os.Getenv("SOURCE_DATE_EPOCH"), 10, 64)
	if err != nil {
		return 0
	}
	return n
}
