//go:build unix

package client

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

func writeExe(t *testing.T, path, script string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestFindVMImageTool: berth-vmimage is taken from beside berth, beside the
// file a symlinked berth points to, then PATH; else a not-found error that
// says what to do.
func TestFindVMImageTool(t *testing.T) {
	bin, real, path, empty := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	writeExe(t, filepath.Join(bin, "berth"), "")
	writeExe(t, filepath.Join(bin, vmimageTool), "")
	writeExe(t, filepath.Join(real, "berth"), "")
	writeExe(t, filepath.Join(real, vmimageTool), "")
	link := filepath.Join(empty, "berth")
	if err := os.Symlink(filepath.Join(real, "berth"), link); err != nil {
		t.Fatal(err)
	}
	writeExe(t, filepath.Join(path, vmimageTool), "")
	for _, tc := range []struct {
		name, self, path, want string
	}{
		{"beside berth", filepath.Join(bin, "berth"), path, filepath.Join(bin, vmimageTool)},
		{"beside the symlink's target", link, path, filepath.Join(real, vmimageTool)},
		{"in PATH", filepath.Join(path+"-none", "berth"), path, filepath.Join(path, vmimageTool)},
		{"nowhere", filepath.Join(empty, "nothing"), empty, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PATH", tc.path)
			got, err := findVMImageTool(tc.self)
			if tc.want == "" {
				if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "install it next to berth") {
					t.Fatalf("findVMImageTool = %q, %v; want a not-found error saying what to do", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("findVMImageTool = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestRunVMImagePull: the tool's last stdout line is the dir (spaces kept),
// its stderr line is the error without the tool's prefix.
func TestRunVMImagePull(t *testing.T) {
	cases := []struct {
		name, script, want, wantErr string
	}{
		{"dir", `[ "$1 $2 $3 $4" = "pull --root /r reg.test/vm:1" ] || exit 3; echo "/r/Application Support/0123"`, "/r/Application Support/0123", ""},
		{"error line", `echo "berth-vmimage: fetch VM image reg.test/vm:1: MANIFEST_UNKNOWN" >&2; exit 1`, "", "fetch VM image reg.test/vm:1: MANIFEST_UNKNOWN"},
		{"silent failure", `exit 1`, "", "exit status 1"},
		{"no dir", `echo ok`, "", "printed no directory"},
	}
	// Every script is written before any runs: a file still open for
	// writing when a child is forked could not be executed (ETXTBSY).
	tools := make([]string, len(cases))
	for i, tc := range cases {
		tools[i] = filepath.Join(t.TempDir(), vmimageTool)
		writeExe(t, tools[i], tc.script)
	}
	for i, tc := range cases {
		tool := tools[i]
		t.Run(tc.name, func(t *testing.T) {
			got, err := runVMImagePull(context.Background(), tool, "reg.test/vm:1", "/r")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.HasPrefix(err.Error(), vmimageTool) {
					t.Fatalf("runVMImagePull = %q, %v; want error %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("runVMImagePull = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
