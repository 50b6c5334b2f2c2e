//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/containerd/ttrpc"

	"github.com/berth-dev/berth/internal/machineproc"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
	"github.com/berth-dev/berth/proto/stream"
)

// env is the benchmark's private world: binaries, VM image, BERTH_HOME.
type env struct {
	o        options
	tmp      string
	berth    string
	image    string
	home     string
	machines []string
}

// newEnv builds berth and berth-agent from this tree into a temp dir (and
// the VM image unless -image is given).
func newEnv(ctx context.Context, o options) (*env, error) {
	tmp, err := os.MkdirTemp("", "benchvm-")
	if err != nil {
		return nil, err
	}
	e := &env{o: o, tmp: tmp, berth: filepath.Join(tmp, "bin", "berth"), home: filepath.Join(tmp, "home"), image: o.image}
	fail := func(err error) (*env, error) { e.close(); return nil, err }
	agent := filepath.Join(tmp, "bin", "berth-agent")
	steps := [][]string{
		{"go", "build", "-o", e.berth, "./cmd/berth"},
		{"go", "build", "-o", agent, "./cmd/berth-agent"},
	}
	if e.image == "" {
		e.image = filepath.Join(tmp, "vm")
		steps = append(steps, []string{"go", "run", "./cmd/berth-vmimage", "build", "--arch", runtime.GOARCH, "--agent", agent, "--out", e.image})
	}
	for _, s := range steps {
		say("%s", strings.Join(s, " "))
		cmd := exec.CommandContext(ctx, s[0], s[1:]...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fail(fmt.Errorf("%s: %v\n%s", strings.Join(s, " "), err, out))
		}
	}
	return e, nil
}

// close stops the machines, kills what survived and removes the temp dir.
func (e *env) close() {
	for _, m := range e.machines {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		_, _ = e.run(ctx, "machine", "stop", m)
		cancel()
		dir := e.machineDir(m)
		for _, pid := range machineproc.Kill(dir) {
			say("killed leftover pid %d of machine %s", pid, m)
		}
	}
	if e.o.keepTemp {
		say("kept %s", e.tmp)
		return
	}
	os.RemoveAll(e.tmp)
}

// run runs berth with the private BERTH_HOME and returns its stdout.
func (e *env) run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, e.berth, args...)
	cmd.Env = append(os.Environ(), "BERTH_HOME="+e.home, "BERTH_MACHINE=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("berth %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// must is run with a ten-minute bound that panics nothing: it returns the
// error for the caller to pass up.
func (e *env) must(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	return e.run(ctx, args...)
}

// initMachine registers a machine (qemu with the image, or native).
func (e *env) initMachine(ctx context.Context, name, driver, disk string) error {
	args := []string{"machine", "init", "--driver", driver}
	if driver == "qemu" {
		args = append(args, "--image", e.image, "--cpus", e.o.cpus, "--memory", e.o.memory, "--disk", disk)
	}
	if _, err := e.must(ctx, append(args, name)...); err != nil {
		return err
	}
	e.machines = append(e.machines, name)
	return nil
}

func (e *env) machineDir(name string) string { return filepath.Join(e.home, "machines", name) }

// dial opens a ttrpc connection to machine name's agent through the
// machine daemon's socket.
func (e *env) dial(name string) (*ttrpc.Client, error) {
	sock := filepath.Join(e.machineDir(name), "daemon.sock")
	c, err := stream.Open(func() (net.Conn, error) { return net.Dial("unix", sock) }, stream.Header{Kind: stream.KindTTRPC})
	if err != nil {
		return nil, fmt.Errorf("machine %s: %w", name, err)
	}
	return ttrpc.NewClient(c), nil
}

// system returns a System client of machine name and a function that
// closes it.
func (e *env) system(name string) (agentv1.TTRPCSystemClient, func(), error) {
	cl, err := e.dial(name)
	if err != nil {
		return nil, nil, err
	}
	return agentv1.NewTTRPCSystemClient(cl), func() { cl.Close() }, nil
}

// containers returns a Containers client of machine name and a function
// that closes it.
func (e *env) containers(name string) (agentv1.TTRPCContainersClient, func(), error) {
	cl, err := e.dial(name)
	if err != nil {
		return nil, nil, err
	}
	return agentv1.NewTTRPCContainersClient(cl), func() { cl.Close() }, nil
}

func say(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "benchvm: "+format+"\n", args...)
}
