package vmimage

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

func TestElfDepsHostCrun(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("reads the amd64 Debian host's /usr/bin/crun")
	}
	if _, err := os.Stat("/usr/bin/crun"); err != nil {
		t.Skip("/usr/bin/crun is not installed (apt-get install crun)")
	}
	deps, err := elfDeps("/", "/usr/bin/crun", "x86_64-linux-gnu")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/lib64/ld-linux-x86-64.so.2", "libc.so.6", "libseccomp.so.2", "libyajl.so.2"} {
		if !slices.ContainsFunc(deps, func(d string) bool { return strings.HasSuffix(d, want) }) {
			t.Errorf("deps %v lack %s", deps, want)
		}
	}
	// libsystemd's own needs (liblzma, libzstd, ...) are followed too.
	if !slices.ContainsFunc(deps, func(d string) bool { return strings.Contains(d, "libzstd.so") }) {
		t.Errorf("deps %v lack libsystemd's libzstd", deps)
	}
}

func TestElfDepsMissingLibrary(t *testing.T) {
	if _, err := os.Stat("/usr/bin/crun"); err != nil {
		t.Skip("/usr/bin/crun is not installed (apt-get install crun)")
	}
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "usr/bin"), 0o755)
	b, _ := os.ReadFile("/usr/bin/crun")
	os.WriteFile(filepath.Join(root, "usr/bin/crun"), b, 0o755)
	_, err := elfDeps(root, "/usr/bin/crun", "x86_64-linux-gnu")
	if !errdefs.IsNotFound(err) {
		t.Fatalf("err = %v, want not found (no loader or library in the root)", err)
	}
}

func TestResolveInRoot(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "usr/lib/x"), 0o755)
	os.WriteFile(filepath.Join(root, "usr/lib/x/libc.so.6"), []byte("c"), 0o644)
	os.Symlink("usr/lib", filepath.Join(root, "lib"))
	os.Symlink("/usr/lib/x/libc.so.6", filepath.Join(root, "usr/lib/abs"))
	os.Symlink("../../../../../../etc/hostname", filepath.Join(root, "usr/lib/escape"))
	tests := []struct{ in, want string }{
		{"/lib/x/libc.so.6", "usr/lib/x/libc.so.6"},
		{"/usr/lib/abs", "usr/lib/x/libc.so.6"},
	}
	for _, tc := range tests {
		got, err := resolveInRoot(root, tc.in)
		if err != nil || got != filepath.Join(root, tc.want) {
			t.Errorf("resolveInRoot(%s) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	if got, err := resolveInRoot(root, "/usr/lib/escape"); err == nil {
		t.Errorf("a link out of the root resolved to %s", got)
	}
}
