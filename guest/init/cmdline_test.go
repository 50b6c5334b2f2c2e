package guestinit

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseCmdline(t *testing.T) {
	tests := []cmdlineCase{
		{"defaults", "console=ttyS0 quiet", func(c Config) bool {
			return c.Port == 1024 && c.Disk == "/dev/vda" && c.Hostname == "berth" && c.DataDir == "/var/lib/berth" && c.Static == nil
		}, ""},
		{"static ip", "berth.ip=10.0.2.15/24,gw=10.0.2.2,dns=10.0.2.3", func(c Config) bool {
			return c.Static != nil && c.Static.Addr == netip.MustParsePrefix("10.0.2.15/24") &&
				c.Static.Gateway == netip.MustParseAddr("10.0.2.2") && len(c.Static.DNS) == 1
		}, ""},
		{"dhcp", "berth.ip=dhcp", func(c Config) bool { return c.Static == nil }, ""},
		{"shares", "berth.share=home:/Users/me%20too berth.share9p=tmp:/tmp/x", func(c Config) bool {
			return reflect.DeepEqual(c.Shares, []Share{{"home", "/Users/me too", "virtiofs"}, {"tmp", "/tmp/x", "9p"}})
		}, ""},
		{"time", "berth.time=1700000000123456789", func(c Config) bool {
			return c.Time.Equal(time.Unix(0, 1700000000123456789))
		}, ""},
		{"seed and misc", "berth.seed=00ff10 berth.hostname=vm1 berth.port=2000 berth.disk=/dev/vdb berth.datadir=/data berth.debug", func(c Config) bool {
			return string(c.Seed) == "\x00\xff\x10" && c.Hostname == "vm1" && c.Port == 2000 && c.Disk == "/dev/vdb" && c.DataDir == "/data" && c.Debug
		}, ""},
		{"bad ip", "berth.ip=10.0.2.15", nil, "berth.ip=10.0.2.15"},
		{"bad gw option", "berth.ip=10.0.2.15/24,via=1.2.3.4", nil, "unknown option"},
		{"bad share", "berth.share=nopath", nil, "TAG:PATH"},
		{"relative share", "berth.share=t:rel", nil, "absolute"},
		{"bad time", "berth.time=yesterday", nil, "berth.time"},
		{"bad seed", "berth.seed=abc", nil, "hex"},
		{"bad port", "berth.port=0", nil, "port"},
		{"relative datadir", "berth.datadir=data", nil, "absolute"},
	}
	runCmdlineCases(t, tests)
}

// cmdlineCase is a kernel command line and what ParseCmdline must make
// of it: a config check passes, or an error mentions wantErr.
type cmdlineCase struct {
	name    string
	in      string
	check   func(Config) bool
	wantErr string
}

func runCmdlineCases(t *testing.T, tests []cmdlineCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseCmdline(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Fatalf("config = %+v", c)
			}
		})
	}
}

func TestLoadOrder(t *testing.T) {
	dep := `kernel/ext4.ko: kernel/jbd2.ko kernel/mbcache.ko
kernel/mbcache.ko:
kernel/jbd2.ko: kernel/crc16.ko

kernel/crc16.ko:
`
	order, deps, err := loadOrder(strings.NewReader(dep))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"kernel/crc16.ko", "kernel/jbd2.ko", "kernel/mbcache.ko", "kernel/ext4.ko"}
	if !reflect.DeepEqual(order, want) {
		t.Fatalf("order = %v, want %v", order, want)
	}
	if len(deps["kernel/ext4.ko"]) != 2 {
		t.Fatalf("deps of ext4 = %v", deps["kernel/ext4.ko"])
	}
	if _, _, err := loadOrder(strings.NewReader("a.ko: b.ko\nb.ko: a.ko\n")); err == nil {
		t.Fatal("a dependency cycle was accepted")
	}
	if _, _, err := loadOrder(strings.NewReader("garbage\n")); err == nil {
		t.Fatal("a line without ':' was accepted")
	}
	if got := moduleName("kernel/net/9p/9pnet-virtio.ko"); got != "9pnet_virtio" {
		t.Fatalf("moduleName = %q", got)
	}
}
