package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testimage"
	"github.com/berth-dev/berth/internal/testvmimage"
	"github.com/berth-dev/berth/vmimage"
)

// TestNoHTTPClientLinked: every berth command initialises every package
// linked into the binary, so the CLI must not link net/http or crypto/tls
// (some 50 packages, ~3 ms and ~6 MB); registry work happens in the agent,
// VM images are fetched by berth-vmimage.
func TestNoHTTPClientLinked(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "net/http" || pkg == "crypto/tls" {
			t.Errorf("cmd/berth links %s; find the import with: go list -deps -f '{{.ImportPath}} {{.Imports}}' ./cmd/berth | grep '%s\\b'", pkg, pkg)
		}
	}
}

// TestMachineInitImageRef: `berth machine init --image REF` fetches the VM
// image artifact through the berth-vmimage beside it into
// <BERTH_HOME>/vmimages and records that dir; a missing artifact and a
// missing berth-vmimage are clear errors that register no machine. The
// native driver keeps the test free of VMs and root: it creates the
// machine's dir only.
func TestMachineInitImageRef(t *testing.T) {
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+string(filepath.Separator), ".", "../berth-vmimage")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	reg := testimage.Registry(t)
	ref := reg + "/berth/vmimage:test"
	if _, err := vmimage.Push(context.Background(), testvmimage.FakeDir(t), ref); err != nil {
		t.Fatalf("push the VM image: %v", err)
	}
	home := t.TempDir()
	alone := filepath.Join(t.TempDir(), "berth") // a berth with no berth-vmimage anywhere
	if err := os.Link(filepath.Join(bin, "berth"), alone); err != nil {
		t.Fatal(err)
	}
	berth := func(exe string, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, exe, args...)
		cmd.Env = append(os.Environ(), "BERTH_HOME="+home, "BERTH_MACHINE=", "PATH="+t.TempDir())
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	for _, tc := range []struct {
		name, exe, ref string
		wantErr        string // "" for success
	}{
		{"fetched", filepath.Join(bin, "berth"), ref, ""},
		{"missing artifact", filepath.Join(bin, "berth"), reg + "/berth/nothing:here", "fetch VM image " + reg + "/berth/nothing:here"},
		{"no berth-vmimage", alone, ref, "needs berth-vmimage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := strings.ReplaceAll(tc.name, " ", "-")
			out, err := berth(tc.exe, "machine", "init", "--driver", "native", "--image", tc.ref, name)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(out, tc.wantErr) {
					t.Fatalf("init: err=%v, want %q in:\n%s", err, tc.wantErr, out)
				}
				if ls, _ := berth(tc.exe, "machine", "ls", "-q"); strings.Contains(ls, name) {
					t.Errorf("a failed init registered the machine: %q", ls)
				}
				return
			}
			if err != nil || !strings.Contains(out, "Fetching VM image "+tc.ref) {
				t.Fatalf("init: %v\n%s", err, out)
			}
			var cfg []struct{ Image string }
			out, err = berth(tc.exe, "machine", "inspect", name)
			if err != nil || json.Unmarshal([]byte(out), &cfg) != nil || len(cfg) != 1 {
				t.Fatalf("machine inspect: %v\n%s", err, out)
			}
			m, err := vmimage.ReadManifest(cfg[0].Image)
			if !strings.HasPrefix(cfg[0].Image, filepath.Join(home, "vmimages")+string(filepath.Separator)) || err != nil || m.Version != testvmimage.Version {
				t.Errorf("the machine uses image %q (manifest %+v, %v), want the fetched dir under %s/vmimages", cfg[0].Image, m, err, home)
			}
		})
	}
}
