package client

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// testTarball is big enough to need many writes on the data stream.
func testTarball() []byte {
	return append([]byte("tar"), bytes.Repeat([]byte("0123456789abcdef"), 512*1024)...)
}

func TestLoad(t *testing.T) {
	data := testTarball()
	file := filepath.Join(t.TempDir(), "img.tar")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		args  []string
		stdin []byte
	}{
		{"from a file", []string{"-i", file}, nil},
		{"from stdin", nil, data},
		{"quiet", []string{"-q", "--input", file}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeImages{loaded: []string{"Loaded image: busybox:latest", "Loaded image ID: " + appID}}
			c, out, _ := newTestCLI(t, f)
			c.in = bytes.NewReader(tt.stdin)
			if msg, code := execCmd(t, c.newLoadCommand(), tt.args...); code != 0 {
				t.Fatalf("exit %d: %s", code, msg)
			}
			if !bytes.Equal(f.loadData, data) {
				t.Errorf("the agent got %d bytes, want %d", len(f.loadData), len(data))
			}
			if want := "Loaded image: busybox:latest\nLoaded image ID: " + appID + "\n"; out.String() != want {
				t.Errorf("got %q, want %q", out.String(), want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		{"corrupt tarball", nil, "garbage", "Error response from daemon: not a docker archive or OCI layout tarball\n"},
		{"missing file", []string{"-i", "/nonexistent/x.tar"}, "", "Error: cannot read the archive: open /nonexistent/x.tar: no such file or directory\n"},
		{"argument", []string{"x.tar"}, "", "\"berth load\" accepts no arguments."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, out, _ := newTestCLI(t, &fakeImages{})
			c.in = strings.NewReader(tt.stdin)
			msg, code := execCmd(t, c.newLoadCommand(), tt.args...)
			if code != 1 || !strings.HasPrefix(msg, tt.want) {
				t.Errorf("got exit %d %q, want exit 1 and %q", code, msg, tt.want)
			}
			if out.Len() != 0 {
				t.Errorf("printed %q", out)
			}
		})
	}
}

func TestSave(t *testing.T) {
	data := testTarball()
	t.Run("to a file", func(t *testing.T) {
		f := inspectFake()
		f.saveData = data
		c, out, _ := newTestCLI(t, f)
		dir := t.TempDir()
		file := filepath.Join(dir, "out.tar")
		if msg, code := execCmd(t, c.newSaveCommand(), "-o", file, "busybox", "busybox:latest"); code != 0 {
			t.Fatalf("exit %d: %s", code, msg)
		}
		got, err := os.ReadFile(file)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("file holds %d bytes (%v), want %d", len(got), err, len(data))
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 1 {
			t.Errorf("dir holds %d entries, want only the tarball", len(ents))
		}
		if out.Len() != 0 {
			t.Errorf("printed %d bytes", out.Len())
		}
	})
	t.Run("to stdout", func(t *testing.T) {
		f := inspectFake()
		f.saveData = data
		c, out, _ := newTestCLI(t, f)
		if msg, code := execCmd(t, c.newSaveCommand(), "busybox"); code != 0 {
			t.Fatalf("exit %d: %s", code, msg)
		}
		if !bytes.Equal(out.Bytes(), data) {
			t.Errorf("stdout got %d bytes, want %d", out.Len(), len(data))
		}
	})
}

func TestSaveErrorsLeaveNoFile(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown image", []string{"-o", filepath.Join(dir, "a.tar"), "nope"}, "Error response from daemon: No such image: nope:latest\n"},
		{"missing dir", []string{"-o", filepath.Join(dir, "no", "a.tar"), "busybox"}, "Error: failed to save image: invalid output path: directory"},
		{"bad reference", []string{"-o", filepath.Join(dir, "a.tar"), "B@d"}, "Error: invalid reference format: \"B@d\" is not an image name; use [REGISTRY/]NAME[:TAG] or NAME@sha256:DIGEST\n"},
		{"no image", []string{"-o", filepath.Join(dir, "a.tar")}, "\"berth save\" requires at least 1 argument."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := inspectFake()
			f.saveData = []byte("tar")
			c, _, _ := newTestCLI(t, f)
			msg, code := execCmd(t, c.newSaveCommand(), tt.args...)
			if code != 1 || !strings.HasPrefix(msg, tt.want) {
				t.Errorf("got exit %d %q, want exit 1 and %q", code, msg, tt.want)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("left %v behind", ents)
			}
		})
	}
}

func TestImagePrune(t *testing.T) {
	resp := &agentv1.PruneImagesResponse{
		Deleted:        []*agentv1.ImageDeleteItem{{Untagged: "busybox:1"}, {Deleted: busyboxID}},
		SpaceReclaimed: 12345678,
	}
	done := "Deleted Images:\nuntagged: busybox:1\ndeleted: " + busyboxID + "\n\nTotal reclaimed space: 12.35MB\n"
	tests := []struct {
		name, stdin string
		args        []string
		want        string
		called, all bool
	}{
		{"force", "", []string{"-f"}, done, true, false},
		{"confirmed", "y\n", nil, pruneDanglingWarning + " [y/N] " + done, true, false},
		{"all, confirmed with Y", "Y\n", []string{"-a"}, pruneAllWarning + " [y/N] " + done, true, true},
		{"declined", "n\n", nil, pruneDanglingWarning + " [y/N] Total reclaimed space: 0B\n", false, false},
		{"no answer", "", []string{"--all"}, pruneAllWarning + " [y/N] Total reclaimed space: 0B\n", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeImages{pruned: resp}
			c, out, _ := newTestCLI(t, f)
			c.in = strings.NewReader(tt.stdin)
			if msg, code := execCmd(t, c.newImagePruneCommand(), tt.args...); code != 0 {
				t.Fatalf("exit %d: %s", code, msg)
			}
			if out.String() != tt.want {
				t.Errorf("got\n%q\nwant\n%q", out.String(), tt.want)
			}
			if (f.pruneReq != nil) != tt.called || (tt.called && f.pruneReq.All != tt.all) {
				t.Errorf("request %v", f.pruneReq)
			}
		})
	}
}

func TestImageCommandAliases(t *testing.T) {
	c, _, _ := newTestCLI(t, &fakeImages{})
	img := c.newImageCommand()
	for _, name := range []string{"ls", "images", "list", "pull", "rm", "rmi", "remove", "tag", "inspect", "load", "save", "prune"} {
		t.Run(name, func(t *testing.T) {
			sub, _, err := img.Find([]string{name})
			if err != nil || sub == img {
				t.Fatalf("berth image %s: not found (%v)", name, err)
			}
		})
	}
	msg, code := execCmd(t, c.newImageCommand(), "bogus")
	if code != 1 || !strings.HasPrefix(msg, "berth: 'image bogus' is not a berth command.") {
		t.Errorf("got exit %d %q", code, msg)
	}
}
