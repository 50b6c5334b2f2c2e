package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/berth-dev/berth/host/internal/errkind"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/containerd/errdefs"
)

// vmimageTool is the program that fetches VM images from registries. The
// CLI runs it instead of linking a registry client, so that no command
// pays for initialising net/http and crypto/tls at start-up.
const vmimageTool = "berth-vmimage"

// fetchImage brings the VM image artifact ref into the state dir
// (<home>/vmimages/<digest>) with `berth-vmimage pull` and returns that
// directory.
func (c *cli) fetchImage(ctx context.Context, ref string) (string, error) {
	self, _ := os.Executable()
	tool, err := findVMImageTool(self)
	if err != nil {
		return "", err
	}
	root, err := filepath.Abs(filepath.Join(c.home, "vmimages"))
	if err != nil {
		return "", err
	}
	fmt.Fprintf(c.errOut, "Fetching VM image %s...\n", ref)
	return runVMImagePull(ctx, tool, ref, root)
}

// findVMImageTool looks for berth-vmimage beside the berth executable self
// (also beside the file a symlinked berth points to, as Homebrew installs
// it), then in PATH.
func findVMImageTool(self string) (string, error) {
	exe := vmimageTool
	if runtime.GOOS == "windows" {
		exe += ".exe"
	}
	var dirs []string
	if self != "" {
		dirs = append(dirs, filepath.Dir(self))
		if real, err := filepath.EvalSymlinks(self); err == nil && filepath.Dir(real) != filepath.Dir(self) {
			dirs = append(dirs, filepath.Dir(real))
		}
	}
	for _, d := range dirs {
		p := filepath.Join(d, exe)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	if p, err := exec.LookPath(exe); err == nil {
		return p, nil
	}
	where := "in PATH"
	if len(dirs) > 0 {
		where = "beside " + self + " or in PATH"
	}
	return "", errkind.New(errdefs.ErrNotFound, "--image with a registry reference needs %s, which fetches VM images: not found %s; install it next to berth, or pass a VM image directory to --image",
		vmimageTool, where)
}

// runVMImagePull runs `tool pull --root root ref` and returns the directory
// it prints. Its one-line error becomes the error.
func runVMImagePull(ctx context.Context, tool, ref, root string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, tool, "pull", "--root", root, ref)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		return "", fmt.Errorf("fetch VM image %s: %w", ref, ctx.Err())
	}
	if err != nil {
		msg := strings.TrimPrefix(strings.TrimSpace(stderr.String()), vmimageTool+": ")
		var ee *exec.ExitError
		if msg == "" || !errors.As(err, &ee) {
			return "", fmt.Errorf("fetch VM image %s: %s: %w", ref, tool, err)
		}
		return "", errors.New(msg)
	}
	out := strings.TrimRight(stdout.String(), "\r\n") // the dir may hold spaces
	dir := out[strings.LastIndexByte(out, '\n')+1:]
	if !filepath.IsAbs(dir) {
		return "", fmt.Errorf("fetch VM image %s: %s printed no directory (%q)", ref, tool, out)
	}
	return dir, nil
}
