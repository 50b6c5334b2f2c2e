package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/testimage"
	"github.com/berth-dev/berth/internal/testvmimage"
	"github.com/berth-dev/berth/vmimage"
)

// TestPull: `berth-vmimage pull --root DIR REF` prints the verified image
// dir under DIR; bad command lines exit 2, a missing artifact exits 1 with
// one line naming it.
func TestPull(t *testing.T) {
	reg := testimage.Registry(t)
	ref := reg + "/berth/vmimage:test"
	if _, err := vmimage.Push(context.Background(), testvmimage.FakeDir(t), ref); err != nil {
		t.Fatalf("push: %v", err)
	}
	root := t.TempDir()
	for _, tc := range []struct {
		name      string
		args      []string
		code      int
		stdout    string // prefix
		stderrHas string
	}{
		{"fetched", []string{"--root", root, ref}, 0, root + string(filepath.Separator), ""},
		{"again", []string{"--root", root, ref}, 0, root + string(filepath.Separator), ""},
		{"missing", []string{"--root", root, reg + "/berth/nothing:here"}, 1, "", "fetch VM image " + reg + "/berth/nothing:here"},
		{"bad ref", []string{"--root", root, "Not A Ref"}, 1, "", `invalid image reference "Not A Ref"`},
		{"no root", []string{ref}, 2, "", "pull needs --root DIR"},
		{"two refs", []string{"--root", root, ref, ref}, 2, "", "pull needs --root DIR"},
		{"bad flag", []string{"--nope"}, 2, "", "flag provided but not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := pull(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.code || !strings.HasPrefix(stdout.String(), tc.stdout) || !strings.Contains(stderr.String(), tc.stderrHas) {
				t.Fatalf("pull %q = %d\nstdout: %s\nstderr: %s", tc.args, code, &stdout, &stderr)
			}
			if code != 0 {
				if stdout.Len() != 0 {
					t.Errorf("a failed pull printed %q on stdout", &stdout)
				}
				return
			}
			dir := strings.TrimSuffix(stdout.String(), "\n")
			m, err := vmimage.ReadManifest(dir)
			if err != nil || m.Version != testvmimage.Version || m.Verify(dir) != nil {
				t.Errorf("pulled dir %s: manifest %+v, %v", dir, m, err)
			}
		})
	}
}
