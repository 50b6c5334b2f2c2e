package vz

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/driver/bootimage"
	"github.com/berth-dev/berth/host/share"
)

func arm64Header() []byte {
	b := make([]byte, 64)
	binary.LittleEndian.PutUint32(b[arm64MagicOff:], arm64Magic)
	return b
}

func x86Header() []byte {
	b := make([]byte, 1024)
	copy(b[x86HdrOff:], "HdrS")
	return b
}

func baseInput() Input {
	return Input{
		Dir: "/Users/me/.berth/machines/default", CPUs: 2, MemoryBytes: 2 << 30, DiskBytes: 64 << 30,
		Image:        bootimage.Image{Dir: "/opt/berth/vmimage", Kernel: "/opt/berth/vmimage/kernel", Initrd: "/opt/berth/vmimage/initramfs", Manifest: bootimage.Manifest{Arch: "arm64"}},
		KernelHeader: arm64Header(),
		Shares:       share.DefaultShares("darwin", "/Users/me"),
		GOARCH:       "arm64", HostCPUs: 8, HostMemory: 16 << 30,
		Now: time.Unix(1700000000, 1), Seed: []byte{10, 11},
	}
}

func TestBuildConfig(t *testing.T) {
	cfg, err := BuildConfig(baseInput())
	if err != nil {
		t.Fatalf("BuildConfig: %v", err)
	}
	if cfg.Kernel != "/opt/berth/vmimage/kernel" || cfg.Initrd != "/opt/berth/vmimage/initramfs" {
		t.Errorf("kernel/initrd = %q %q", cfg.Kernel, cfg.Initrd)
	}
	if cfg.CPUs != 2 || cfg.MemoryBytes != 2<<30 || cfg.DiskBytes != 64<<30 {
		t.Errorf("sizes = %d %d %d", cfg.CPUs, cfg.MemoryBytes, cfg.DiskBytes)
	}
	if cfg.Disk != "/Users/me/.berth/machines/default/disk.img" {
		t.Errorf("disk = %q", cfg.Disk)
	}
	if cfg.VsockPort != 1024 || !cfg.NAT || !cfg.Balloon || cfg.Rosetta {
		t.Errorf("port %d nat %v balloon %v rosetta %v", cfg.VsockPort, cfg.NAT, cfg.Balloon, cfg.Rosetta)
	}
	wantShares := []Share{
		{Tag: "berth0", HostPath: "/Users/me", VMPath: "/Users/me"},
		{Tag: "berth1", HostPath: "/Volumes", VMPath: "/Volumes"},
		{Tag: "berth2", HostPath: "/private/tmp", VMPath: "/private/tmp"},
		{Tag: "berth3", HostPath: "/private/var/folders", VMPath: "/private/var/folders"},
	}
	if len(cfg.Shares) != len(wantShares) {
		t.Fatalf("shares = %+v", cfg.Shares)
	}
	for i := range wantShares {
		if cfg.Shares[i] != wantShares[i] {
			t.Errorf("share %d = %+v, want %+v", i, cfg.Shares[i], wantShares[i])
		}
	}
	want := "console=hvc0 panic=-1 quiet berth.port=1024 berth.share=berth0:%2FUsers%2Fme berth.share=berth1:%2FVolumes berth.share=berth2:%2Fprivate%2Ftmp berth.share=berth3:%2Fprivate%2Fvar%2Ffolders berth.time=1700000000000000001 berth.seed=0a0b"
	if cfg.Cmdline != want {
		t.Errorf("cmdline =\n %q\nwant\n %q", cfg.Cmdline, want)
	}
}

func TestBuildConfigRosettaAndSpaces(t *testing.T) {
	in := baseInput()
	in.Rosetta = true
	in.Shares = []share.Share{{HostPath: "/Users/Jane Doe", VMPath: "/Users/Jane Doe"}}
	cfg, err := BuildConfig(in)
	if err != nil {
		t.Fatalf("BuildConfig: %v", err)
	}
	if !cfg.Rosetta || !strings.HasSuffix(cfg.Cmdline, " berth.share=berth0:%2FUsers%2FJane%20Doe berth.time=1700000000000000001 berth.seed=0a0b berth.rosetta=rosetta") {
		t.Errorf("cmdline = %q rosetta %v", cfg.Cmdline, cfg.Rosetta)
	}
}

func TestBuildConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Input)
		kind error
		want string
	}{
		{"too many cpus", func(in *Input) { in.CPUs = 9 }, errdefs.ErrInvalidArgument, "more than this Mac has (8)"},
		{"zero cpus", func(in *Input) { in.CPUs = 0 }, errdefs.ErrInvalidArgument, "at least 1"},
		{"too much memory", func(in *Input) { in.MemoryBytes = 32 << 30 }, errdefs.ErrInvalidArgument, "more than this Mac has (16384MiB)"},
		{"x86 kernel on arm64", func(in *Input) { in.KernelHeader = x86Header() }, errdefs.ErrFailedPrecondition, "x86 kernel"},
		{"compressed kernel on arm64", func(in *Input) { in.KernelHeader = []byte{0x1f, 0x8b} }, errdefs.ErrFailedPrecondition, "not an uncompressed arm64 Image"},
		{"amd64 image manifest on arm64", func(in *Input) { in.Image.Manifest.Arch = "amd64" }, errdefs.ErrFailedPrecondition, "has a amd64 kernel"},
		{"arm64 kernel on intel", func(in *Input) { in.GOARCH = "amd64"; in.Image.Manifest.Arch = "" }, errdefs.ErrFailedPrecondition, "arm64 kernel"},
		{"rosetta on intel", func(in *Input) {
			in.GOARCH = "amd64"
			in.Image.Manifest.Arch = ""
			in.KernelHeader = x86Header()
			in.Rosetta = true
		}, errdefs.ErrInvalidArgument, "Apple silicon"},
		{"relative share", func(in *Input) { in.Shares = []share.Share{{HostPath: "src", VMPath: "/src"}} }, errdefs.ErrInvalidArgument, "absolute"},
		{"duplicate share", func(in *Input) {
			in.Shares = []share.Share{{HostPath: "/a", VMPath: "/x"}, {HostPath: "/b", VMPath: "/x"}}
		}, errdefs.ErrInvalidArgument, "two shares"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := baseInput()
			tt.mod(&in)
			_, err := BuildConfig(in)
			if err == nil || !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %v containing %q", err, tt.kind, tt.want)
			}
		})
	}
}

func TestKernelArch(t *testing.T) {
	tests := []struct {
		name string
		hdr  []byte
		want string
	}{
		{"arm64 Image", arm64Header(), "arm64"},
		{"x86 bzImage", x86Header(), "amd64"},
		{"gzip", []byte{0x1f, 0x8b, 8, 0}, ""},
		{"empty", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := KernelArch(tt.hdr); got != tt.want {
				t.Errorf("KernelArch = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCheckMacOS(t *testing.T) {
	tests := []struct {
		v    string
		kind error
	}{
		{"14.5", nil}, {"13.0", nil}, {"26.1\n", nil},
		{"12.7.1", errdefs.ErrNotImplemented}, {"", errdefs.ErrFailedPrecondition},
	}
	for _, tt := range tests {
		t.Run(tt.v, func(t *testing.T) {
			err := checkMacOS(tt.v)
			if (tt.kind == nil) != (err == nil) || (tt.kind != nil && !errors.Is(err, tt.kind)) {
				t.Errorf("checkMacOS(%q) = %v, want kind %v", tt.v, err, tt.kind)
			}
		})
	}
}

func TestExplainVZError(t *testing.T) {
	err := explainVZError("start", errors.New(`Invalid virtual machine configuration. The process doesn’t have the “com.apple.security.virtualization” entitlement.`))
	if !errdefs.IsFailedPrecondition(err) || !strings.Contains(err.Error(), "codesign -s - --entitlements") {
		t.Errorf("entitlement error = %v", err)
	}
	err = explainVZError("start", errors.New("unsupported macOS version"))
	if !errdefs.IsNotImplemented(err) || !strings.Contains(err.Error(), "macOS 13 or later") {
		t.Errorf("os version error = %v", err)
	}
}

// TestConnectRetry checks the Connect wrapper: a connect that never
// returns is abandoned after the attempt timeout, failures are retried
// until one succeeds, and a late connection is closed.
func TestConnectRetry(t *testing.T) {
	ctx := context.Background()
	block := make(chan struct{})
	defer close(block)
	start := time.Now()
	_, err := connectOnce(ctx, func() (net.Conn, error) { <-block; return nil, errors.New("late") }, 50*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "no answer") {
		t.Errorf("hanging connect: err = %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("hanging connect was not abandoned")
	}

	calls := 0
	a, b := net.Pipe()
	defer b.Close()
	c, err := connectRetry(ctx, func() (net.Conn, error) {
		calls++
		if calls < 3 {
			return nil, errors.New("connection reset")
		}
		return a, nil
	}, time.Second, time.Minute, time.Millisecond)
	if err != nil || c != a || calls != 3 {
		t.Errorf("retry: conn %v err %v after %d calls, want success on the 3rd", c, err, calls)
	}

	_, err = connectRetry(ctx, func() (net.Conn, error) { return nil, errors.New("refused") }, time.Second, 10*time.Millisecond, time.Millisecond)
	if err == nil || err.Error() != "refused" {
		t.Errorf("retry window: err = %v, want the last error", err)
	}

	late, lateB := net.Pipe()
	release := make(chan struct{})
	_, _ = connectOnce(ctx, func() (net.Conn, error) { <-release; return late, nil }, 10*time.Millisecond)
	close(release)
	lateB.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := lateB.Read(make([]byte, 1)); err == nil {
		t.Errorf("late connection was not closed")
	}
}
