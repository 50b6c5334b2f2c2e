package vz

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/driver"
	"github.com/berth-dev/berth/host/driver/bootimage"
	"github.com/berth-dev/berth/host/share"
)

// TestFactoryInput checks what the factory reads from disk before a VM is
// configured: the image (beside the binary), the kernel's header, and
// that every shared folder exists.
func TestFactoryInput(t *testing.T) {
	img := t.TempDir()
	if err := os.WriteFile(filepath.Join(img, bootimage.ManifestFile), []byte(`{"version":"dev","arch":"arm64"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(img, "kernel"), arm64Header(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(img, "initramfs"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	folder := t.TempDir()
	inst := driver.Instance{Name: "m", Dir: t.TempDir(), CPUs: 1, MemoryBytes: 1 << 30, DiskBytes: 1 << 30}
	tests := []struct {
		name string
		f    Factory
		kind error
		want string
	}{
		{"ok", Factory{ImageDirs: []string{img}, Shares: []share.Share{{HostPath: folder, VMPath: folder}}}, nil, ""},
		{"no image", Factory{ImageDirs: []string{t.TempDir()}}, errdefs.ErrNotFound, "no berth VM image"},
		{"missing share", Factory{ImageDirs: []string{img}, Shares: []share.Share{{HostPath: "/does/not/exist", VMPath: "/x"}}},
			errdefs.ErrInvalidArgument, "shared folder /does/not/exist does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := tt.f.input(inst)
			if tt.kind != nil {
				if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("input = %v, want %v containing %q", err, tt.kind, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("input: %v", err)
			}
			if KernelArch(in.KernelHeader) != "arm64" || in.Image.Kernel != filepath.Join(img, "kernel") || in.HostCPUs < 1 {
				t.Errorf("input = %+v", in)
			}
		})
	}
}

// TestFactoryInputRosetta: the machine's --rosetta (Instance.Rosetta) and
// the factory's own setting both ask for the Rosetta share.
func TestFactoryInputRosetta(t *testing.T) {
	img := t.TempDir()
	for name, b := range map[string][]byte{
		bootimage.ManifestFile: []byte(`{"version":"dev","arch":"arm64"}`), "kernel": arm64Header(), "initramfs": []byte("x"),
	} {
		if err := os.WriteFile(filepath.Join(img, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name          string
		factory, inst bool
		want          bool
	}{
		{"off", false, false, false},
		{"machine", false, true, true},
		{"factory", true, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inst := driver.Instance{Name: "m", Dir: t.TempDir(), CPUs: 1, MemoryBytes: 1 << 30, DiskBytes: 1 << 30, Rosetta: tc.inst}
			in, err := Factory{ImageDirs: []string{img}, Rosetta: tc.factory}.input(inst)
			if err != nil {
				t.Fatal(err)
			}
			if in.Rosetta != tc.want {
				t.Errorf("input Rosetta = %v, want %v", in.Rosetta, tc.want)
			}
		})
	}
}
