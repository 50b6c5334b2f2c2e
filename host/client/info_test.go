package client

import (
	"bytes"
	"strings"
	"testing"
)

func TestInfoFormat(t *testing.T) {
	info := &systemInfo{
		ClientInfo: clientInfo{Version: "v1", Machine: "default"},
		Containers: 3, ContainersRunning: 1, ContainersPaused: 0, ContainersStopped: 2,
		Images: 5, ServerVersion: "v1", Driver: "overlayfs",
		DriverStatus: [][2]string{{"Backing Filesystem", "extfs"}},
		CgroupDriver: "cgroupfs", CgroupVersion: "2", DefaultRuntime: "crun",
		KernelVersion: "6.1.0", OperatingSystem: "Debian GNU/Linux 12 (bookworm)", OSType: "linux",
		Architecture: "x86_64", NCPU: 2, MemTotal: 4102676480, Name: "default",
		DockerRootDir: "/var/lib/berth", InsecureRegistries: []string{"reg:5000"},
		Machine: "default", MachineDriver: "native",
	}
	tests := []struct {
		format string
		want   []string // lines or fragments the output must hold
	}{
		{"", []string{
			"Client:\n Version:    v1\n Machine:    default\n\nServer:\n",
			" Containers: 3\n  Running: 1\n  Paused: 0\n  Stopped: 2\n Images: 5\n",
			" Storage Driver: overlayfs\n  Backing Filesystem: extfs\n",
			" Total Memory: 3.821GiB\n",
			" Berth Root Dir: /var/lib/berth\n",
			" Machine: default\n Driver: native\n",
			" Insecure Registries:\n  reg:5000\n",
		}},
		{"{{.NCPU}} {{bytes .MemTotal}}", []string{"2 3.821GiB"}},
		{"json", []string{`"Driver":"overlayfs"`, `"MachineDriver":"native"`, `"NCPU":2`}},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			tmpl, err := infoFormat(tt.format)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := tmpl.Execute(&b, info); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, b.String())
				}
			}
		})
	}
	if _, err := infoFormat("{{.Name"); err == nil || !strings.Contains(err.Error(), "template parsing error") {
		t.Errorf("bad template: %v", err)
	}
}
