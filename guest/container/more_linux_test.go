package container

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

func TestLogsFollowUntilExit(t *testing.T) {
	r := newTestRuntime(t, "")
	ctx := context.Background()
	c := newTestContainer(t, r, []string{"sh", "-c", "for i in 1 2 3; do echo $i; sleep 0.1; done; echo err >&2"})
	if _, err := c.Start(ctx, nil); err != nil {
		t.Fatalf("Start: %v", err)
	}
	var got []string
	err := c.Logs(ctx, LogsOptions{Tail: -1, Follow: true}, func(e LogEntry) error {
		got = append(got, e.Stream+":"+e.Log)
		return nil
	})
	if err != nil {
		t.Fatalf("Logs: %v", err)
	}
	want := "stdout:1\n,stdout:2\n,stdout:3\n,stderr:err\n"
	if strings.Join(got, ",") != want {
		t.Errorf("followed %q, want %q", strings.Join(got, ","), want)
	}
}

func TestNetworkNoneHasOnlyLoopback(t *testing.T) {
	r := newTestRuntime(t, "")
	c := newTestContainer(t, r, []string{"ls", "/sys/class/net"})
	if out, _, code := runAttached(t, c); out != "lo\n" || code != 0 {
		t.Errorf("interfaces = %q (exit %d), want only lo", out, code)
	}
}

func TestDeleteRules(t *testing.T) {
	r := newTestRuntime(t, "")
	ctx := context.Background()
	created := newTestContainer(t, r, []string{"true"})
	if st := created.State(ctx); st.Status != StatusCreated {
		t.Fatalf("new container status = %s", st.Status)
	}
	running := startSleeper(t, r)
	if err := running.Delete(ctx, false); !errdefs.IsConflict(err) {
		t.Errorf("Delete of a running container = %v, want conflict", err)
	}
	for _, c := range []*Container{created, running} {
		if err := c.Delete(ctx, true); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if _, err := r.Get(c.ID()); !errdefs.IsNotFound(err) {
			t.Errorf("Get after Delete = %v, want not found", err)
		}
	}
}

func TestOOMKilled(t *testing.T) {
	r := newTestRuntime(t, "")
	c := newTestContainer(t, r, []string{"dd", "if=/dev/zero", "of=/dev/null", "bs=256M", "count=1"}, func(cfg *Config) {
		cfg.Create.Memory = 16 << 20
	})
	_, _, code := runAttached(t, c)
	st := c.State(context.Background())
	if code != 137 || !st.OOMKilled {
		t.Errorf("exit %d, state %+v; want 137 and OOMKilled", code, st)
	}
}

func TestAttachStdinOnce(t *testing.T) {
	r := newTestRuntime(t, "")
	ctx := context.Background()
	c := newTestContainer(t, r, []string{"sh", "-c", "cat; echo done"}, func(cfg *Config) {
		cfg.Create.OpenStdin, cfg.Create.StdinOnce = true, true
	})
	s, err := c.Start(ctx, &AttachOptions{Stdin: true, Stdout: true})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer s.Close()
	s.Stdin.Write([]byte("hi\n"))
	s.Stdin.Close() // the first client detaching closes the container's stdin
	out, _ := io.ReadAll(s.Stdout)
	if string(out) != "hi\ndone\n" {
		t.Errorf("output %q, want %q", out, "hi\ndone\n")
	}
	if ex, err := c.Wait(ctx); err != nil || ex.ExitCode != 0 {
		t.Errorf("Wait = %+v, %v", ex, err)
	}
}

func TestExecTTY(t *testing.T) {
	r := newTestRuntime(t, "")
	ctx := context.Background()
	c := startSleeper(t, r)
	e, err := c.Exec(ctx, ExecConfig{ID: "tty", Cmd: []string{"sh", "-c", "read x; stty size; exit 4"}, Tty: true, Stdin: true})
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	s, err := e.Attach(ctx, AttachOptions{Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	defer s.Close()
	if _, err := e.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := e.Resize(ctx, 100, 30); err != nil {
		t.Fatalf("Resize: %v", err)
	}
	s.Stdin.Write([]byte("go\n"))
	out, _ := io.ReadAll(s.Stdout)
	if !strings.Contains(string(out), "30 100\r\n") {
		t.Errorf("exec tty output %q lacks the size 30 100", out)
	}
	if ex, err := e.Wait(ctx); err != nil || ex.ExitCode != 4 {
		t.Errorf("Wait = %+v, %v", ex, err)
	}
}
