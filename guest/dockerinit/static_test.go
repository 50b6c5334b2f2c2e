package dockerinit

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestCheckStatic(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("builds Linux binaries")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\nimport \"os/user\"\nfunc main() { user.Current() }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module prog\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	build := func(t *testing.T, cgo string) string {
		t.Helper()
		out := filepath.Join(dir, "prog-cgo"+cgo)
		cmd := exec.Command("go", "build", "-o", out, ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED="+cgo)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, b)
		}
		return out
	}
	if err := CheckStatic(build(t, "0")); err != nil {
		t.Errorf("static binary: %v", err)
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Log("no gcc: the dynamically linked case is not checked")
	} else {
		if err := CheckStatic(build(t, "1")); err == nil || !strings.Contains(err.Error(), "dynamically linked") {
			t.Errorf("cgo binary: got %v, want dynamically linked", err)
		}
	}
	if err := CheckStatic(src); err == nil {
		t.Error("a Go source file passed as a static binary")
	}
}
