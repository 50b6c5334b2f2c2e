package hcs

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/driver/bootimage"
	"github.com/berth-dev/berth/host/share"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func baseInput() Input {
	return Input{
		Name: "default", CPUs: 2, MemoryBytes: 2 << 30,
		Image: bootimage.Image{Kernel: `C:\Program Files\berth\vmimage\kernel`, Initrd: `C:\Program Files\berth\vmimage\initramfs`},
		Disk:  `C:\Users\me\.berth\machines\default\disk.vhdx`, ConsolePipe: `\\.\pipe\berth-default-console`,
		Shares: share.DefaultShares("windows", `C:\Users\me`), Drives: []string{"D", "C"},
		Endpoint: "8f1b0c3e-1111-4a4a-9b9b-0123456789ab", MAC: "00-15-5D-01-02-03", Net: "172.28.16.5/20,gw=172.28.16.1,dns=172.28.16.1",
		Now: time.Unix(1700000000, 1), Seed: []byte{1, 2, 3},
		HostCPUs: 8, HostMemory: 16 << 30, GOARCH: "amd64",
	}
}

func TestBuildDocumentGolden(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Input)
	}{
		{"default", func(*Input) {}},
		{"arm64-guest-dials", func(in *Input) { in.GOARCH, in.GuestDials = "arm64", true }},
		{"no-network-one-folder", func(in *Input) {
			in.Endpoint, in.MAC, in.Net = "", "", ""
			in.Shares = []share.Share{{HostPath: `C:\src`, VMPath: "/src"}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := baseInput()
			tt.mod(&in)
			doc, err := BuildDocument(in)
			if err != nil {
				t.Fatalf("BuildDocument: %v", err)
			}
			got, err := json.MarshalIndent(doc, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", tt.name+".json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if string(got) != string(want) {
				t.Errorf("document differs from %s:\n%s", golden, got)
			}
		})
	}
}

func TestBuildDocumentErrors(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Input)
		want string
	}{
		{"too many cpus", func(in *Input) { in.CPUs = 16 }, "more than this PC has (8)"},
		{"too much memory", func(in *Input) { in.MemoryBytes = 64 << 30 }, "more than this PC has (16384MiB)"},
		{"tiny memory", func(in *Input) { in.MemoryBytes = 1 << 20 }, "at least 128MiB"},
		{"relative host path", func(in *Input) { in.Shares = []share.Share{{HostPath: `src`, VMPath: "/src"}} }, "not an absolute Windows path"},
		{"relative vm path", func(in *Input) { in.Shares = []share.Share{{HostPath: `C:\src`, VMPath: "src"}} }, "not an absolute VM path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := baseInput()
			tt.mod(&in)
			_, err := BuildDocument(in)
			if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want invalid argument containing %q", err, tt.want)
			}
		})
	}
}

func TestCheckBuild(t *testing.T) {
	tests := []struct {
		build uint16
		ok    bool
	}{{17763, false}, {18285, false}, {18286, true}, {22631, true}}
	for _, tt := range tests {
		err := checkBuild(tt.build)
		if (err == nil) != tt.ok || (err != nil && !errdefs.IsNotImplemented(err)) {
			t.Errorf("checkBuild(%d) = %v, want ok=%v", tt.build, err, tt.ok)
		}
	}
}

func TestCheckFolders(t *testing.T) {
	dir := t.TempDir()
	if err := checkFolders([]share.Share{{HostPath: share.AllDrives, VMPath: "/mnt/host"}, {HostPath: dir, VMPath: "/x"}}); err != nil {
		t.Errorf("checkFolders(existing) = %v", err)
	}
	err := checkFolders([]share.Share{{HostPath: dir + "/missing", VMPath: "/x"}})
	if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("checkFolders(missing) = %v", err)
	}
}

func TestNetParam(t *testing.T) {
	if got := NetParam("192.168.127.5", 24, NATGateway, []string{"192.168.127.1", "1.1.1.1"}); got != "192.168.127.5/24,gw=192.168.127.1,dns=192.168.127.1,dns=1.1.1.1" {
		t.Errorf("NetParam = %q", got)
	}
	if got := NetParam("", 0, NATGateway, nil); got != "" {
		t.Errorf("NetParam(no ip) = %q", got)
	}
}
