package bootimage

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

func writeImage(t *testing.T, dir, manifest string, files ...string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if manifest != "" {
		if err := os.WriteFile(filepath.Join(dir, ManifestFile), []byte(manifest), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFind(t *testing.T) {
	root := t.TempDir()
	empty, good := filepath.Join(root, "empty"), filepath.Join(root, "good")
	writeImage(t, empty, "")
	writeImage(t, good, `{"version":"v1.2.0","arch":"arm64","kernel":"Image"}`, "Image", "initramfs")
	// A file where a directory is searched (the berth-vmimage tool beside
	// berth was once one of the places) is passed over, not an error.
	file := filepath.Join(root, "a-file")
	if err := os.WriteFile(file, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	img, err := Find([]string{empty, file, good})
	if err != nil {
		t.Fatalf("Find: %v", err)
	}
	if img.Kernel != filepath.Join(good, "Image") || img.Initrd != filepath.Join(good, "initramfs") || img.Manifest.Version != "v1.2.0" {
		t.Errorf("image = %+v", img)
	}
	if err := img.CheckVersion("v1.2.0"); err != nil {
		t.Errorf("CheckVersion same: %v", err)
	}
	if err := img.CheckVersion("dev"); err != nil {
		t.Errorf("CheckVersion dev: %v", err)
	}
	if err := img.CheckVersion("v1.3.0"); !errdefs.IsFailedPrecondition(err) || !strings.Contains(err.Error(), "is for berth v1.2.0") {
		t.Errorf("CheckVersion other = %v", err)
	}
	if err := img.CheckArch("amd64"); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("CheckArch amd64 = %v", err)
	}
}

func TestFindErrors(t *testing.T) {
	root := t.TempDir()
	tests := []struct {
		name     string
		manifest string
		files    []string
		kind     error
		want     string
	}{
		{"none", "", nil, errdefs.ErrNotFound, "no berth VM image"},
		{"bad manifest", "{", nil, errdefs.ErrInvalidArgument, "bad manifest.json"},
		{"no initramfs", `{"version":"x"}`, []string{"kernel"}, errdefs.ErrFailedPrecondition, "incomplete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(root, strings.ReplaceAll(tt.name, " ", "-"))
			writeImage(t, dir, tt.manifest, tt.files...)
			_, err := Find([]string{dir})
			if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Find = %v, want %v containing %q", err, tt.kind, tt.want)
			}
		})
	}
}

func TestCmdline(t *testing.T) {
	got := Cmdline("hvc0", "", "berth.x=1")
	if got != "console=hvc0 panic=-1 quiet berth.port=1024 berth.x=1" {
		t.Errorf("Cmdline = %q", got)
	}
}

func TestDirs(t *testing.T) {
	got := Dirs("/opt/berth/bin/berth", "/home/me/.berth", "arm64")
	want := []string{"/opt/berth/share/berth/vm/arm64", "/opt/berth/bin/vm", "/opt/berth/bin/vmimage",
		"/opt/berth/share/berth/vmimage", "/home/me/.berth/vm/arm64"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Dirs =\n %q\nwant\n %q", got, want)
	}
	if got := Dirs("", "", "amd64"); len(got) != 0 {
		t.Errorf("Dirs of nothing = %q", got)
	}
}
