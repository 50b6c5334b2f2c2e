package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berth-dev/berth/vmimage"
)

// pull is `berth-vmimage pull --root DIR REF`: it fetches the VM image
// artifact REF (pushed by build --push) into DIR/<12 hex of its digest>,
// verified, and prints that directory on stdout. Errors go to stderr as
// one line; berth machine init --image REF relays them.
func pull(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pull", flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", "", "directory that keeps fetched VM images (berth uses <BERTH_HOME>/vmimages)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *root == "" || fs.NArg() != 1 {
		fmt.Fprintln(stderr, "berth-vmimage: pull needs --root DIR and one image reference: berth-vmimage pull --root DIR REF")
		return 2
	}
	ref := fs.Arg(0)
	r, err := name.ParseReference(ref)
	if err != nil {
		fmt.Fprintf(stderr, "berth-vmimage: invalid image reference %q: %v\n", ref, err)
		return 1
	}
	// Credentials as docker has them (~/.docker/config.json, helpers); a
	// keychain that cannot be read means anonymous, as for berth pull.
	kc, err := authn.DefaultKeychain.ResolveContext(ctx, r.Context())
	if err != nil {
		kc = authn.Anonymous
	}
	dir, err := vmimage.Pull(ctx, ref, *root, remote.WithAuth(kc))
	if err != nil {
		fmt.Fprintf(stderr, "berth-vmimage: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, dir)
	return 0
}
