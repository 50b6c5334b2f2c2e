package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// bareCrun runs `crun run` of one bundle from an OS thread of its own: on
// hosts that mount cgroup v1 controllers and cgroup2 side by side (which
// crun refuses) that thread has a private mount namespace with cgroup2
// hidden, exactly as berth's shim does, so both run on cgroup v1 with
// crun's default cgroupfs manager.
type bareCrun struct {
	crun, root, bundle string
	reqs               chan func()
	n                  int
}

// newBareCrun starts the thread; stop ends it.
func newBareCrun(crun, root, bundle string) (*bareCrun, error) {
	c := &bareCrun{crun: crun, root: root, bundle: bundle, reqs: make(chan func())}
	ready := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		if err := hideCgroup2(); err != nil {
			ready <- err
			return
		}
		ready <- nil
		for fn := range c.reqs {
			fn()
		}
	}()
	if err := <-ready; err != nil {
		return nil, err
	}
	return c, nil
}

// do runs fn on the thread.
func (c *bareCrun) do(fn func()) {
	done := make(chan struct{})
	c.reqs <- func() { fn(); close(done) }
	<-done
}

// run times one `crun run` of the bundle (a fresh container id each time).
func (c *bareCrun) run(ctx context.Context) (d time.Duration, err error) {
	c.n++
	id := fmt.Sprintf("benchstart-bare-%d", c.n)
	c.do(func() { d, err = timed(ctx, nil, c.crun, "--root", c.root, "run", "--bundle", c.bundle, id) })
	return d, err
}

// stop deletes containers crun still knows (after a failure or Ctrl-C)
// and ends the thread.
func (c *bareCrun) stop(ctx context.Context) error {
	var err error
	c.do(func() {
		var out string
		out, err = output(ctx, nil, c.crun, "--root", c.root, "list", "-q")
		for _, id := range strings.Fields(out) {
			if _, e := output(ctx, nil, c.crun, "--root", c.root, "delete", "-f", id); e != nil {
				err = errors.Join(err, e)
			}
		}
	})
	close(c.reqs)
	return err
}

// hideCgroup2 gives the calling thread a private mount namespace without
// cgroup2 mounts when cgroup v1 controllers are mounted too.
func hideCgroup2() error {
	v1, v2, err := cgroupMounts()
	if err != nil || len(v1) == 0 || len(v2) == 0 {
		return err
	}
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("private mount namespace for crun: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return fmt.Errorf("private mount namespace for crun: %w", err)
	}
	for _, m := range v2 {
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil {
			return fmt.Errorf("hide cgroup2 mount %s from crun: %w", m, err)
		}
	}
	return nil
}

// cgroupMounts lists the mount points of cgroup v1 and cgroup2 file systems.
func cgroupMounts() (v1, v2 []string, err error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		for i := 6; i+1 < len(fields); i++ {
			if fields[i] != "-" {
				continue
			}
			switch fields[i+1] {
			case "cgroup":
				v1 = append(v1, fields[4])
			case "cgroup2":
				v2 = append(v2, fields[4])
			}
			break
		}
	}
	return v1, v2, sc.Err()
}

// prepareBundle writes the bare crun bundle in dir from the spec berth
// generated for a `berth create --network none IMG true` container, and
// extracts the image into dir/rootfs. It returns what was changed.
func (b *bench) prepareBundle(ctx context.Context, dir string) ([]string, error) {
	id, err := b.berthOut(ctx, "create", "--network", "none", "--name", "benchstart-spec", b.image, "true")
	if err != nil {
		return nil, err
	}
	id = strings.TrimSpace(id)
	defer b.berthOut(context.WithoutCancel(ctx), "rm", "-f", id) //nolint:errcheck // removeAll retries at the end
	cdir, err := findContainerDir(b.home, id)
	if err != nil {
		return nil, err
	}
	var in specs.Spec
	raw, err := os.ReadFile(filepath.Join(cdir, "config.json"))
	if err == nil {
		err = json.Unmarshal(raw, &in)
	}
	if err != nil {
		return nil, fmt.Errorf("berth's spec: %w", err)
	}
	bb, err := bareSpec(&in, cdir, dir, "/berth/benchstart-bare", []string{"true"})
	if err != nil {
		return nil, err
	}
	for _, f := range bb.files {
		if err := copyPath(filepath.Join(cdir, f), filepath.Join(dir, f)); err != nil {
			return nil, err
		}
	}
	out, err := json.MarshalIndent(bb.spec, "", "\t")
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "config.json"), out, 0o644)
	}
	if err != nil {
		return nil, err
	}
	notes := append([]string{"spec from " + filepath.Join(cdir, "config.json")}, bb.notes...)
	return notes, b.extractImage(ctx, filepath.Join(dir, "rootfs"))
}

// findContainerDir finds berth's state dir of container id under home
// (<machine>/data/containers/<id> for the native driver).
func findContainerDir(home, id string) (string, error) {
	if m, _ := filepath.Glob(filepath.Join(home, "machines", "*", "data", "containers", id, "config.json")); len(m) == 1 {
		return filepath.Dir(m[0]), nil
	}
	var found string
	err := filepath.WalkDir(home, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return nil // unreadable: not there
		case d.IsDir() && d.Name() == id:
			if _, err := os.Stat(filepath.Join(p, "config.json")); err == nil {
				found = p
				return fs.SkipAll
			}
		case d.IsDir() && (d.Name() == "rootfs" || d.Name() == "snapshots" || d.Name() == "content"):
			return fs.SkipDir
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if found == "" {
		return "", fmt.Errorf("no config.json of container %s under %s: berth's state layout changed (see guest/container/doc.go)", id, home)
	}
	return found, nil
}

// copyPath copies a regular file, or creates an empty directory for a
// directory (berth's bind sources are files such as hosts and resolv.conf).
func copyPath(src, dst string) error {
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if st.IsDir() {
		return os.MkdirAll(dst, st.Mode().Perm())
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, st.Mode().Perm())
}

// extractImage unpacks the image's flattened file system into dir with
// `tar -x` (keeping owners and modes, as berth's unpacker does).
func (b *bench) extractImage(ctx context.Context, dir string) error {
	tag, err := name.NewTag(b.image)
	if err != nil {
		return err
	}
	img, err := tarball.ImageFromPath(b.tar, &tag)
	if err != nil {
		return fmt.Errorf("read %s: %w", b.tar, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	rc := mutate.Extract(img)
	defer rc.Close()
	cmd := command(ctx, nil, "tar", "-x", "-p", "--numeric-owner", "-C", dir, "-f", "-")
	cmd.Stdin = rc
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("extract the image for crun: %w: %s", err, strings.TrimSpace(string(out)))
	}
	_, err = io.Copy(io.Discard, rc)
	return err
}

// lookCmd reports whether a program is on PATH.
func lookCmd(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}
