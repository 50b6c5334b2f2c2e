package guestinit

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestParseCmdlineDrivers covers the parameters of the hcs driver
// (berth.sharehv, berth.dial) and of the vz driver's Rosetta share.
func TestParseCmdlineDrivers(t *testing.T) {
	tests := []cmdlineCase{
		{"none", "console=ttyS0", func(c Config) bool {
			return len(c.HvShares) == 0 && !c.DialHost && c.Rosetta == ""
		}, ""},
		{"hv shares", "berth.sharehv=drive-c:%2Fmnt%2Fhost%2Fc berth.sharehv=share1:/home/jane%20doe", func(c Config) bool {
			return reflect.DeepEqual(c.HvShares, []Share{{"drive-c", "/mnt/host/c", "9p"}, {"share1", "/home/jane doe", "9p"}}) &&
				len(c.Shares) == 0
		}, ""},
		{"dial host", "berth.dial=host", func(c Config) bool { return c.DialHost }, ""},
		{"dial guest", "berth.dial=host berth.dial=guest", func(c Config) bool { return !c.DialHost }, ""},
		{"rosetta", "berth.rosetta=rosetta", func(c Config) bool { return c.Rosetta == "rosetta" }, ""},
		{"hv share without path", "berth.sharehv=drive-c", nil, "TAG:PATH"},
		{"hv share relative path", "berth.sharehv=drive-c:mnt", nil, "absolute"},
		{"hv share name with comma", "berth.sharehv=a,trans=virtio:/x", nil, "share name"},
		{"bad dial", "berth.dial=yes", nil, "berth.dial=yes"},
		{"empty rosetta tag", "berth.rosetta=", nil, "Rosetta"},
		{"rosetta tag with comma", "berth.rosetta=a,b", nil, "Rosetta"},
	}
	runCmdlineCases(t, tests)
}

// TestParseHCSCmdlines parses the kernel command lines of the hcs driver's
// golden documents (host/driver/hcs/testdata), so that the two sides of
// the command line cannot drift apart.
func TestParseHCSCmdlines(t *testing.T) {
	for _, tc := range []struct {
		file     string
		shares   []Share
		dialHost bool
	}{
		{"default.json", []Share{{"drive-c", "/mnt/host/c", "9p"}, {"drive-d", "/mnt/host/d", "9p"}}, false},
		{"arm64-guest-dials.json", []Share{{"drive-c", "/mnt/host/c", "9p"}, {"drive-d", "/mnt/host/d", "9p"}}, true},
		{"no-network-one-folder.json", []Share{{"share0", "/src", "9p"}}, false},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("..", "..", "host", "driver", "hcs", "testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				VirtualMachine struct {
					Chipset struct {
						LinuxKernelDirect struct{ KernelCmdLine string }
					}
				}
			}
			if err := json.Unmarshal(b, &doc); err != nil {
				t.Fatal(err)
			}
			line := doc.VirtualMachine.Chipset.LinuxKernelDirect.KernelCmdLine
			c, err := ParseCmdline(line)
			if err != nil {
				t.Fatalf("ParseCmdline(%q): %v", line, err)
			}
			if !reflect.DeepEqual(c.HvShares, tc.shares) || c.DialHost != tc.dialHost || c.Disk != "/dev/sda" {
				t.Errorf("from %q: hv shares %v, dial host %v, disk %s; want %v, %v, /dev/sda", line, c.HvShares, c.DialHost, c.Disk, tc.shares, tc.dialHost)
			}
		})
	}
}
