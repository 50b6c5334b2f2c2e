package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

const ipForward = "/proc/sys/net/ipv4/ip_forward"

// docker is a reachable Docker engine: the environment for the docker CLI.
type docker struct {
	env  []string
	note string // where it came from, for the report
}

// setupDocker finds a reachable Docker engine, or with -with-docker starts
// a private dockerd (its own data and exec roots and socket under work),
// and loads the image into it from `berth save`. It returns nil and a
// reason when docker is not measured.
func (b *bench) setupDocker(ctx context.Context) (*docker, string, error) {
	if !lookCmd("docker") {
		return nil, "no docker CLI (apt-get install -y docker.io, then pass -with-docker)", nil
	}
	d := &docker{env: os.Environ()}
	if v, err := output(ctx, d.env, "docker", "info", "--format", "{{.ServerVersion}}"); err == nil {
		d.note = "the running Docker engine " + strings.TrimSpace(v)
	} else if !b.o.withDocker {
		return nil, "no Docker engine reachable (pass -with-docker to start a private dockerd)", nil
	} else if err := b.startDockerd(ctx, d); err != nil {
		return nil, "", err
	}
	save := filepath.Join(b.work, "berth-save.tar")
	if _, err := b.berthOut(ctx, "save", "-o", save, b.image); err != nil {
		return nil, "", err
	}
	_, inspectErr := output(ctx, d.env, "docker", "image", "inspect", b.image)
	if _, err := output(ctx, d.env, "docker", "load", "-i", save); err != nil {
		return nil, "", err
	}
	if inspectErr != nil { // the image is ours: remove it again
		b.onCleanup("docker rmi", func(ctx context.Context) error {
			_, err := output(ctx, d.env, "docker", "rmi", "-f", b.image)
			return err
		})
	}
	return d, "", nil
}

// startDockerd starts a private dockerd and registers its stop, which
// also puts back the iptables FORWARD policy and ip_forward it changes,
// removes its iptables rules and chains and its docker0 bridge.
func (b *bench) startDockerd(ctx context.Context, d *docker) error {
	if !lookCmd("dockerd") {
		return errors.New("-with-docker: dockerd not found (apt-get install -y docker.io)")
	}
	restore, err := saveHostNet(ctx)
	if err != nil {
		return err
	}
	dir := filepath.Join(b.work, "docker")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	sock := "unix://" + filepath.Join(dir, "docker.sock")
	logf, err := os.Create(filepath.Join(dir, "dockerd.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command("dockerd", "--data-root", filepath.Join(dir, "root"), "--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "dockerd.pid"), "-H", sock, "--bip", "10.213.17.1/24")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		restore(ctx) //nolint:errcheck // nothing changed yet
		return fmt.Errorf("start dockerd: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	b.onCleanup("stop dockerd", func(ctx context.Context) error {
		cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may be gone
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill() //nolint:errcheck // it may be gone
			<-exited
		}
		return restore(ctx)
	})
	d.env = append(os.Environ(), "DOCKER_HOST="+sock)
	for deadline := time.Now().Add(time.Minute); ; {
		v, err := output(ctx, d.env, "docker", "info", "--format", "{{.ServerVersion}}")
		if err == nil {
			d.note = "a private dockerd " + strings.TrimSpace(v) + " (started for this run, stopped after it)"
			return nil
		}
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("dockerd exited: %v (see %s)", err, logf.Name())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dockerd not reachable after a minute: %w (see %s)", err, logf.Name())
		}
	}
}

// saveHostNet records what dockerd changes on the host (ip_forward, the
// FORWARD policy, iptables rules of the filter and nat tables, the docker0
// link) and returns the function that puts it back.
func saveHostNet(ctx context.Context) (func(context.Context) error, error) {
	fwd, err := os.ReadFile(ipForward)
	if err != nil {
		return nil, fmt.Errorf("record ip_forward: %w", err)
	}
	_, bridgeErr := os.Stat("/sys/class/net/docker0")
	hadBridge := bridgeErr == nil
	tables := map[string][]string{}
	policy := ""
	if lookCmd("iptables") {
		for _, t := range []string{"filter", "nat"} {
			out, err := output(ctx, nil, "iptables", "-t", t, "-S")
			if err != nil {
				return nil, fmt.Errorf("record iptables %s table: %w", t, err)
			}
			tables[t] = lines(out)
		}
		policy, _ = forwardPolicy(tables["filter"])
	}
	return func(ctx context.Context) error {
		var errs []error
		for t, before := range tables {
			after, err := output(ctx, nil, "iptables", "-t", t, "-S")
			if err == nil {
				var cmds [][]string
				if cmds, err = dockerCleanup(before, lines(after)); err == nil {
					for _, c := range cmds {
						_, e := output(ctx, nil, "iptables", append([]string{"-t", t}, c...)...)
						errs = append(errs, e)
					}
				}
			}
			errs = append(errs, err)
		}
		if policy != "" {
			_, err := output(ctx, nil, "iptables", "-P", "FORWARD", policy)
			errs = append(errs, err)
		}
		errs = append(errs, os.WriteFile(ipForward, fwd, 0o644))
		if _, err := os.Stat("/sys/class/net/docker0"); err == nil && !hadBridge {
			_, err := output(ctx, nil, "ip", "link", "del", "docker0")
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	}, nil
}

// lines splits command output into non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}
