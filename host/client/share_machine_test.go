package client

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/machine"
	"github.com/berth-dev/berth/host/share"
)

func TestShareFlags(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	real, _ := filepath.EvalSymlinks(dir)
	for _, tc := range []struct {
		name, in, want, err string
	}{
		{name: "dir", in: dir, want: real},
		{name: "symlink", in: link, want: real},
		{name: "missing", in: filepath.Join(dir, "nope"), err: "does not exist"},
		{name: "file", in: file, err: "is not a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := shareFlags([]string{tc.in})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v %v, want an error with %q", got, err, tc.err)
				}
				return
			}
			if err != nil || len(got) != 1 || got[0] != tc.want {
				t.Fatalf("got %v %v, want %s", got, err, tc.want)
			}
		})
	}
}

// A machine's --share folders extend the defaults; a bind source outside
// all of them is refused with the message naming them (macOS rules, where
// the native driver's share-everything default does not apply).
func TestMachineSharesRefuseOutside(t *testing.T) {
	cfg := machine.Config{Shares: []string{"/opt/src"}}
	res := share.Resolver{OS: share.Darwin, WorkDir: "/opt/src/app", HomeDir: "/Users/me", Shares: machineShares(cfg, share.Darwin, "/Users/me")}
	if got, err := res.Translate("./web"); err != nil || got != "/opt/src/app/web" {
		t.Fatalf("inside the extra share: %q %v", got, err)
	}
	if got, err := res.Translate("~/proj"); err != nil || got != "/Users/me/proj" {
		t.Fatalf("inside the home share: %q %v", got, err)
	}
	_, err := res.Translate("/etc/x")
	if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "/opt/src") || !strings.Contains(err.Error(), "berth machine init --share /private/etc/x") {
		t.Fatalf("outside: %v", err)
	}
	if machineShares(machine.Config{}, share.Darwin, "/Users/me") != nil {
		t.Fatal("no extra shares should leave the resolver's defaults")
	}
}

func TestMachineInitForwardFlags(t *testing.T) {
	dir := t.TempDir()
	o := machineInitOptions{cpus: 1, memory: "1GiB", disk: "2GiB", shares: []string{dir}, forwardAll: true, addresses: []string{"0.0.0.0"}}
	cfg, err := o.config("m")
	if err != nil {
		t.Fatal(err)
	}
	real, _ := filepath.EvalSymlinks(dir)
	if len(cfg.Shares) != 1 || cfg.Shares[0] != real || !cfg.ForwardAll || len(cfg.ForwardAddresses) != 1 {
		t.Fatalf("config %+v", cfg)
	}
	o.shares = []string{filepath.Join(dir, "missing")}
	if _, err := o.config("m"); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("missing share: %v", err)
	}
	o.shares, o.addresses = nil, []string{"nope"}
	if _, err := o.config("m"); err == nil || !strings.Contains(err.Error(), `invalid forward address "nope"`) {
		t.Fatalf("bad address: %v", err)
	}
}
