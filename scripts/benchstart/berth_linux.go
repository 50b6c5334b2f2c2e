package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// bench is one benchmark run: its private directories, environment and
// the cleanups to run at the end (last registered first).
type bench struct {
	o      options
	w      io.Writer
	work   string   // private temp dir, removed at the end
	home   string   // BERTH_HOME
	berth  string   // absolute path of the berth binary
	env    []string // environment for berth
	image  string   // the image reference (repo:tag)
	docker *docker  // a reachable Docker engine, or nil
	cmp    *bench   // the -compare build's machine, or nil
	tar    string   // the image's docker-archive

	mu       sync.Mutex
	cleanups []cleanup
}

type cleanup struct {
	what string
	fn   func(ctx context.Context) error
}

// onCleanup registers fn to run at the end, before those registered
// earlier.
func (b *bench) onCleanup(what string, fn func(ctx context.Context) error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cleanups = append(b.cleanups, cleanup{what, fn})
}

// cleanup runs the registered cleanups with a fresh context (the run's may
// be cancelled by Ctrl-C), reporting failures and going on.
func (b *bench) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b.mu.Lock()
	cs := b.cleanups
	b.cleanups = nil
	b.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		if err := cs[i].fn(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "bench-start: cleanup: %s: %v\n", cs[i].what, err)
		}
	}
}

// command makes a command that is not in the terminal's process group (so
// Ctrl-C reaches only this program, which then cleans up in order) and is
// interrupted, then killed, when ctx ends.
func command(ctx context.Context, env []string, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// output runs a command and returns its stdout; a failure carries the
// command line and its stderr.
func output(ctx context.Context, env []string, name string, args ...string) (string, error) {
	cmd := command(ctx, env, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), cmdError(name, args, err, stderr.String())
	}
	return stdout.String(), nil
}

func cmdError(name string, args []string, err error, stderr string) error {
	msg := strings.TrimSpace(stderr)
	if msg != "" {
		msg = ": " + msg
	}
	return fmt.Errorf("%s %s: %w%s", filepath.Base(name), strings.Join(args, " "), err, msg)
}

// berthOut runs berth with the private BERTH_HOME.
func (b *bench) berthOut(ctx context.Context, args ...string) (string, error) {
	return output(ctx, b.env, b.berth, args...)
}

// timed runs one command to completion and returns its wall time; stdout
// and stderr are kept only for the error message.
func timed(ctx context.Context, env []string, name string, args ...string) (time.Duration, error) {
	cmd := command(ctx, env, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	err := cmd.Run()
	d := time.Since(t0)
	if err != nil {
		return 0, cmdError(name, args, err, out.String())
	}
	return d, nil
}

// startMachine starts the private machine and registers its removal,
// which first removes every container left in it (they would outlive the
// agent: containers run in their own shims).
func (b *bench) startMachine(ctx context.Context) error {
	b.onCleanup("berth machine rm -f", func(ctx context.Context) error {
		_, err := b.berthOut(ctx, "machine", "rm", "-f")
		return err
	})
	b.onCleanup("remove containers", b.removeAll)
	if _, err := b.berthOut(ctx, "machine", "start"); err != nil {
		return err
	}
	_, err := b.berthOut(ctx, "load", "-i", b.tar)
	return err
}

// removeAll removes every container of the private machine.
func (b *bench) removeAll(ctx context.Context) error {
	out, err := b.berthOut(ctx, "ps", "-aq", "--no-trunc")
	if err != nil {
		return err
	}
	ids := strings.Fields(out)
	for len(ids) > 0 {
		n := min(len(ids), 50)
		if _, err := b.berthOut(ctx, append([]string{"rm", "-f"}, ids[:n]...)...); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// benchLabel marks the containers this benchmark starts with `run -d`.
const benchLabel = "dev.berth.benchstart=1"

// dockerRemoveAll removes the docker containers this benchmark started.
func (b *bench) dockerRemoveAll(ctx context.Context) error {
	out, err := output(ctx, b.docker.env, "docker", "ps", "-aq", "--filter", "label="+benchLabel)
	if err != nil {
		return err
	}
	ids := strings.Fields(out)
	for len(ids) > 0 {
		n := min(len(ids), 50)
		if _, err := output(ctx, b.docker.env, "docker", append([]string{"rm", "-f"}, ids[:n]...)...); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// checkBinaries finds berth, berth-agent beside it and crun.
func (b *bench) checkBinaries() error {
	p, err := filepath.Abs(b.o.berth)
	if err != nil {
		return err
	}
	if _, err := os.Stat(p); err != nil {
		return fmt.Errorf("berth binary: %w (run `make build`, or pass -berth)", err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(p), "berth-agent")); err != nil {
		return fmt.Errorf("berth-agent beside %s: %w (run `make build`)", p, err)
	}
	b.berth = p
	if b.o.crun, err = exec.LookPath(b.o.crun); err != nil {
		return fmt.Errorf("crun for the bare baseline: %w (apt-get install crun)", err)
	}
	return nil
}
