package qemu

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/share"
)

func TestImageDirs(t *testing.T) {
	got := ImageDirs("/opt/berth/bin/berth", "/home/me/.berth", "arm64")
	want := []string{"/opt/berth/share/berth/vm/arm64", "/opt/berth/bin/vm"}
	if len(got) < 3 || got[0] != want[0] || got[1] != want[1] || got[len(got)-1] != "/home/me/.berth/vm/arm64" {
		t.Errorf("ImageDirs = %q", got)
	}
	if got := ImageDirs("", "", "amd64"); len(got) != 0 {
		t.Errorf("ImageDirs with nothing = %q", got)
	}
}

func TestFindImageErrors(t *testing.T) {
	root := t.TempDir()
	missing := filepath.Join(root, "none")
	wrongArch := filepath.Join(root, "arch")
	os.MkdirAll(wrongArch, 0o755)
	other := "arm64"
	if runtime.GOARCH == "arm64" {
		other = "amd64"
	}
	os.WriteFile(filepath.Join(wrongArch, "manifest.json"), []byte(`{"arch":"`+other+`"}`), 0o644)
	os.WriteFile(filepath.Join(wrongArch, "kernel"), []byte("k"), 0o644)
	os.WriteFile(filepath.Join(wrongArch, "initramfs"), []byte("i"), 0o644)
	tool := filepath.Join(root, "berth-vmimage") // the tool installed beside berth
	os.WriteFile(tool, []byte("#!/bin/sh\n"), 0o755)
	tests := []struct {
		name string
		dirs []string
		ok   func(error) bool
		want []string
	}{
		{"missing", []string{missing}, errdefs.IsNotFound, []string{missing, "berth-vmimage build --arch " + runtime.GOARCH}},
		{"wrong arch", []string{wrongArch}, errdefs.IsFailedPrecondition, []string{"has a " + other + " kernel"}},
		{"a file in the search list", []string{tool, missing}, errdefs.IsNotFound, []string{missing, "berth-vmimage build --arch " + runtime.GOARCH}},
		{"a file before the image", []string{tool, wrongArch}, errdefs.IsFailedPrecondition, []string{"has a " + other + " kernel"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Factory{ImageDirs: tt.dirs}.findImage("")
			if err == nil || !tt.ok(err) {
				t.Fatalf("findImage = %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestQEMUMissing(t *testing.T) {
	err := Factory{QEMU: "qemu-system-does-not-exist"}.Available()
	if !errdefs.IsFailedPrecondition(err) || !strings.Contains(err.Error(), "qemu-system-does-not-exist not found; install it") {
		t.Errorf("Available = %v", err)
	}
}

func TestCreateDiskSparse(t *testing.T) {
	p := filepath.Join(t.TempDir(), diskFile)
	const size = 64 << 30
	if err := createDisk(p, size); err != nil {
		t.Fatalf("createDisk: %v", err)
	}
	used, got, err := DiskUsage(filepath.Dir(p))
	if err != nil {
		t.Fatal(err)
	}
	if got != size {
		t.Errorf("size = %d, want %d", got, size)
	}
	if used > 1<<20 {
		t.Errorf("a new disk takes %d bytes; it must be sparse", used)
	}
	if err := createDisk(p, size); err != nil {
		t.Errorf("createDisk again, same size = %v", err)
	}
	if err := createDisk(p, 2<<30); !errdefs.IsAlreadyExists(err) {
		t.Errorf("createDisk again, other size = %v", err)
	}
	if err := createDisk(p+"2", 1<<20); !errdefs.IsInvalidArgument(err) {
		t.Errorf("createDisk 1MiB = %v", err)
	}
	if _, _, err := DiskUsage(t.TempDir()); !errdefs.IsNotFound(err) {
		t.Errorf("DiskUsage without disk = %v", err)
	}
}

func TestDefaultShares(t *testing.T) {
	got := DefaultShares(share.Linux, "/home/me")
	if len(got) != 2 || got[0].VMPath != "/home/me" || got[1].VMPath != "/tmp" {
		t.Errorf("DefaultShares(linux) = %+v", got)
	}
	for _, s := range DefaultShares(share.Linux, "/") {
		if s.VMPath == "/" {
			t.Errorf("DefaultShares shares /")
		}
	}
}

func TestFileTail(t *testing.T) {
	p := filepath.Join(t.TempDir(), "log")
	var b strings.Builder
	for i := range 30 {
		b.WriteString("line " + string(rune('a'+i%26)) + "\r\n")
	}
	os.WriteFile(p, []byte(b.String()), 0o644)
	got := strings.Split(fileTail(p, 20), "\n")
	if len(got) != 20 || got[19] != "line d" || strings.Contains(got[0], "\r") {
		t.Errorf("fileTail = %q", got)
	}
	if fileTail(filepath.Join(t.TempDir(), "none"), 5) != "" {
		t.Errorf("fileTail of a missing file not empty")
	}
}

// fakeQMPServer serves one QMP client: it answers each command with the
// reply replies gives it (an event first, as qemu may send one any time)
// and records the raw request lines.
func fakeQMPServer(t *testing.T, path string, replies map[string]string) <-chan []string {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	got := make(chan []string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.Write([]byte(`{"QMP": {"version": {}, "capabilities": []}}` + "\n"))
		var lines []string
		sc := bufio.NewScanner(c)
		for sc.Scan() {
			lines = append(lines, sc.Text())
			var m struct{ Execute string }
			json.Unmarshal(sc.Bytes(), &m)
			reply, ok := replies[m.Execute]
			if !ok {
				reply = `{"return": {}}`
			}
			c.Write([]byte(`{"event": "BALLOON_CHANGE", "data": {"actual": 1}}` + "\n" + reply + "\n"))
		}
		got <- lines
	}()
	return got
}

func TestQMPCommand(t *testing.T) {
	p := filepath.Join(t.TempDir(), "q.sock")
	got := fakeQMPServer(t, p, nil)
	if err := qmpCommand(context.Background(), p, "quit"); err != nil {
		t.Fatalf("qmpCommand: %v", err)
	}
	var cmds []string
	for _, l := range <-got {
		var m struct{ Execute string }
		json.Unmarshal([]byte(l), &m)
		cmds = append(cmds, m.Execute)
	}
	if strings.Join(cmds, ",") != "qmp_capabilities,quit" {
		t.Errorf("commands = %q", cmds)
	}
	if err := qmpCommand(context.Background(), filepath.Join(t.TempDir(), "none"), "quit"); err == nil {
		t.Errorf("qmpCommand without a socket succeeded")
	}
}

func TestFindMachineImage(t *testing.T) {
	empty := t.TempDir()
	_, err := Factory{}.findImage(empty)
	if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "the machine's --image") || !strings.Contains(err.Error(), empty) {
		t.Errorf("findImage(empty dir) = %v", err)
	}
	good := t.TempDir()
	os.WriteFile(filepath.Join(good, "manifest.json"), []byte(`{"arch":"`+runtime.GOARCH+`"}`), 0o644)
	os.WriteFile(filepath.Join(good, "kernel"), []byte("k"), 0o644)
	os.WriteFile(filepath.Join(good, "initramfs"), []byte("i"), 0o644)
	// The machine's image wins over the factory's places.
	img, err := Factory{ImageDirs: []string{empty}}.findImage(good)
	if err != nil || img.Kernel != filepath.Join(good, "kernel") {
		t.Errorf("findImage(good) = %+v, %v", img, err)
	}
}
