package qemu

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/driver/bootimage"
	"github.com/berth-dev/berth/host/share"
)

func testInput() Input {
	return Input{
		Name: "m1", Dir: "/st/m1", CPUs: 2, MemoryBytes: 2 << 30,
		Image:  bootimage.Image{Kernel: "/img/kernel", Initrd: "/img/initramfs"},
		GOARCH: "amd64", Accel: AccelTCG,
		Shares: []share.Share{{HostPath: "/home/me", VMPath: "/home/me"}, {HostPath: "/tmp/a b,c", VMPath: "/tmp/a b,c"}},
	}
}

// argAfter returns the value following flag's n-th occurrence, or "".
func argAfter(args []string, flag string, n int) string {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == flag {
			if n == 0 {
				return args[i+1]
			}
			n--
		}
	}
	return ""
}

func allAfter(args []string, flag string) []string {
	var out []string
	for i := 0; i+1 < len(args); i++ {
		if args[i] == flag {
			out = append(out, args[i+1])
		}
	}
	return out
}

func TestBuildPlan(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Input)
		binary  string
		want    map[string]string // flag -> first value
		devices []string          // -device values that must be present
		absent  []string          // substrings no argument may contain
		cmdline []string          // kernel parameters that must be present
	}{
		{
			name:    "amd64 tcg serial 9p",
			binary:  "qemu-system-x86_64",
			want:    map[string]string{"-machine": "q35", "-accel": "tcg,thread=multi", "-cpu": "max", "-smp": "2", "-m": "2048M"},
			devices: []string{"virtio-serial-pci", "virtserialport,chardev=agent,name=berth.agent", "virtio-blk-pci,drive=data", "virtio-net-pci,netdev=n0,romfile=", "virtio-balloon-pci,id=balloon0,deflate-on-oom=on,free-page-reporting=on"},
			absent:  []string{"vhost-vsock", "memory-backend-memfd", "vhost-user-fs"},
			cmdline: []string{"console=ttyS0", "berth.disk=/dev/vda", "berth.share9p=berth0:%2Fhome%2Fme", "berth.share9p=berth1:%2Ftmp%2Fa%20b%2Cc", "berth.port=1024", "berth.ip=10.0.2.15/24,gw=10.0.2.2,dns=10.0.2.3"},
		},
		{
			name:    "amd64 kvm vsock virtiofs",
			edit:    func(in *Input) { in.Accel, in.VsockCID, in.Virtiofsd = AccelKVM, 7, "/usr/lib/qemu/virtiofsd" },
			binary:  "qemu-system-x86_64",
			want:    map[string]string{"-machine": "q35", "-accel": "kvm", "-cpu": "host", "-object": "memory-backend-memfd,id=mem,size=2048M,share=on", "-numa": "node,memdev=mem"},
			devices: []string{"vhost-vsock-pci,guest-cid=7", "vhost-user-fs-pci,chardev=fs0,tag=berth0", "vhost-user-fs-pci,chardev=fs1,tag=berth1"},
			absent:  []string{"virtserialport", "-virtfs"},
			cmdline: []string{"berth.share=berth0:%2Fhome%2Fme"},
		},
		{
			name:    "arm64 tcg",
			edit:    func(in *Input) { in.GOARCH, in.Shares = "arm64", nil },
			binary:  "qemu-system-aarch64",
			want:    map[string]string{"-machine": "virt", "-accel": "tcg,thread=multi", "-cpu": "cortex-a57"},
			devices: []string{"virtio-serial-pci", "virtio-balloon-pci,id=balloon0,deflate-on-oom=on,free-page-reporting=on"},
			absent:  []string{"berth.share", "-virtfs"},
			cmdline: []string{"console=ttyAMA0"},
		},
		{
			name:   "arm64 hvf",
			edit:   func(in *Input) { in.GOARCH, in.Accel = "arm64", AccelHVF },
			binary: "qemu-system-aarch64",
			want:   map[string]string{"-machine": "virt", "-accel": "hvf", "-cpu": "host"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := testInput()
			if tt.edit != nil {
				tt.edit(&in)
			}
			p, err := BuildPlan(in)
			if err != nil {
				t.Fatalf("BuildPlan: %v", err)
			}
			if p.Binary != tt.binary {
				t.Errorf("Binary = %q, want %q", p.Binary, tt.binary)
			}
			for f, v := range tt.want {
				if got := argAfter(p.Args, f, 0); got != v {
					t.Errorf("%s = %q, want %q", f, got, v)
				}
			}
			devs := allAfter(p.Args, "-device")
			for _, d := range tt.devices {
				if !slices.Contains(devs, d) {
					t.Errorf("no -device %s in %q", d, devs)
				}
			}
			joined := strings.Join(p.Args, " ")
			for _, a := range tt.absent {
				if strings.Contains(joined, a) {
					t.Errorf("args contain %q: %s", a, joined)
				}
			}
			params := strings.Fields(p.Cmdline)
			for _, c := range tt.cmdline {
				if !slices.Contains(params, c) {
					t.Errorf("cmdline %q lacks %q", p.Cmdline, c)
				}
			}
			if argAfter(p.Args, "-append", 0) != p.Cmdline || argAfter(p.Args, "-kernel", 0) != "/img/kernel" || argAfter(p.Args, "-initrd", 0) != "/img/initramfs" {
				t.Errorf("kernel, initrd or cmdline not passed: %s", joined)
			}
			if in.Virtiofsd != "" && len(p.Virtiofsd) != len(in.Shares) {
				t.Errorf("virtiofsd processes = %d, want %d", len(p.Virtiofsd), len(in.Shares))
			}
		})
	}
}

func TestBuildPlanFixed(t *testing.T) {
	in := testInput()
	in.Now = time.Unix(1700000000, 5)
	in.Seed = []byte{0xab, 0x01}
	p, err := BuildPlan(in)
	if err != nil {
		t.Fatal(err)
	}
	args := p.Args
	for _, want := range [][2]string{
		{"-drive", "if=none,id=data,file=/st/m1/disk.img,format=raw,discard=unmap,detect-zeroes=unmap"},
		{"-netdev", "user,id=n0"},
		{"-serial", "file:/st/m1/console.log"},
		{"-qmp", "unix:/st/m1/qmp.sock,server=on,wait=off"},
		{"-chardev", "socket,id=agent,path=/st/m1/agent.sock,server=on,wait=off"},
		{"-virtfs", "local,path=/tmp/a b,,c,mount_tag=berth1,security_model=none,id=fs1"},
	} {
		if !slices.Contains(allAfter(args, want[0]), want[1]) {
			t.Errorf("no %s %s in %q", want[0], want[1], args)
		}
	}
	if !slices.Contains(args, "-no-reboot") || !slices.Contains(args, "-nodefaults") {
		t.Errorf("-no-reboot or -nodefaults missing: %q", args)
	}
	for _, c := range []string{"berth.time=1700000000000000005", "berth.seed=ab01", "panic=-1"} {
		if !slices.Contains(strings.Fields(p.Cmdline), c) {
			t.Errorf("cmdline %q lacks %s", p.Cmdline, c)
		}
	}
}

func TestBuildPlanErrors(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Input)
		kind error
		want string
	}{
		{"arch", func(in *Input) { in.GOARCH = "riscv64" }, errdefs.ErrNotImplemented, "amd64 and arm64"},
		{"cpus", func(in *Input) { in.CPUs = 0 }, errdefs.ErrInvalidArgument, "at least 1 CPU"},
		{"relative share", func(in *Input) { in.Shares = []share.Share{{HostPath: "x", VMPath: "/x"}} }, errdefs.ErrInvalidArgument, "absolute"},
		{"root share", func(in *Input) { in.Shares = []share.Share{{HostPath: "/", VMPath: "/"}} }, errdefs.ErrInvalidArgument, "cannot be shared at /"},
		{"same mount", func(in *Input) {
			in.Shares = []share.Share{{HostPath: "/a", VMPath: "/x"}, {HostPath: "/b", VMPath: "/x"}}
		}, errdefs.ErrInvalidArgument, "two shares"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := testInput()
			tt.edit(&in)
			_, err := BuildPlan(in)
			if err == nil || !errdefs.IsNotImplemented(err) && tt.kind == errdefs.ErrNotImplemented ||
				tt.kind == errdefs.ErrInvalidArgument && !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("BuildPlan = %v, want %v containing %q", err, tt.kind, tt.want)
			}
		})
	}
}
