package container

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"
)

func logText(t testing.TB, c *Container) string {
	t.Helper()
	var b strings.Builder
	if err := c.Logs(context.Background(), LogsOptions{Tail: -1}, func(e LogEntry) error {
		b.WriteString(e.Log)
		return nil
	}); err != nil {
		t.Fatalf("Logs: %v", err)
	}
	return b.String()
}

func TestStop(t *testing.T) {
	r := newTestRuntime(t, "")
	tests := []struct {
		name     string
		script   string
		timeout  time.Duration
		wantCode int
	}{
		{name: "SIGTERM handled", script: `trap "echo TERM; exit 7" TERM; echo ready; while :; do sleep 0.05; done`, timeout: 10 * time.Second, wantCode: 7},
		{name: "SIGTERM ignored then SIGKILL", script: `trap "echo TERM" TERM; echo ready; while :; do sleep 0.05; done`, timeout: 300 * time.Millisecond, wantCode: 137},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			c := newTestContainer(t, r, []string{"sh", "-c", tt.script})
			if _, err := c.Start(ctx, nil); err != nil {
				t.Fatalf("Start: %v", err)
			}
			waitFor(t, "trap installed", func() bool { return strings.Contains(logText(t, c), "ready") })
			if err := c.Stop(ctx, &tt.timeout); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			st := c.State(ctx)
			if st.Status != StatusExited || st.ExitCode != tt.wantCode {
				t.Errorf("state = %+v, want exited %d", st, tt.wantCode)
			}
			if !strings.Contains(logText(t, c), "TERM") {
				t.Errorf("SIGTERM was not delivered; log: %q", logText(t, c))
			}
			if err := c.Kill(ctx, 9); !errdefs.IsConflict(err) {
				t.Errorf("Kill of stopped container = %v, want conflict", err)
			}
		})
	}
}

func readCounter(t testing.TB, c *Container) string {
	b, _ := os.ReadFile(filepath.Join(c.Rootfs(), "tmp", "counter"))
	return strings.TrimSpace(string(b))
}

func TestPauseResume(t *testing.T) {
	r := newTestRuntime(t, "")
	ctx := context.Background()
	c := newTestContainer(t, r, []string{"sh", "-c", `i=0; while :; do i=$((i+1)); echo $i > /tmp/counter; sleep 0.02; done`})
	if _, err := c.Start(ctx, nil); err != nil {
		t.Fatalf("Start: %v", err)
	}
	waitFor(t, "counter", func() bool { return readCounter(t, c) != "" })
	if err := c.Pause(ctx); err != nil {
		t.Fatalf("Pause: %v", err)
	}
	if st := c.State(ctx); st.Status != StatusPaused {
		t.Fatalf("status = %s, want paused", st.Status)
	}
	if err := c.Pause(ctx); !errdefs.IsConflict(err) {
		t.Errorf("second Pause = %v, want conflict", err)
	}
	frozen := readCounter(t, c)
	time.Sleep(200 * time.Millisecond)
	if got := readCounter(t, c); got != frozen {
		t.Fatalf("counter moved while paused: %s -> %s", frozen, got)
	}
	if err := c.Resume(ctx); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	waitFor(t, "counter to advance", func() bool { return readCounter(t, c) != frozen })
	if st := c.State(ctx); st.Status != StatusRunning {
		t.Errorf("status = %s, want running", st.Status)
	}
	// A paused container can be killed: the runtime thaws it.
	if err := c.Pause(ctx); err != nil {
		t.Fatalf("Pause: %v", err)
	}
	if err := c.Stop(ctx, new(time.Duration)); err != nil {
		t.Fatalf("Stop paused: %v", err)
	}
	if st := c.State(ctx); st.Status != StatusExited || st.ExitCode != 137 {
		t.Errorf("state = %+v, want exited 137", st)
	}
}

func startSleeper(t *testing.T, r *Runtime, edit ...func(*Config)) *Container {
	t.Helper()
	c := newTestContainer(t, r, []string{"sleep", "1000"}, edit...)
	if _, err := c.Start(context.Background(), nil); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return c
}

func TestExec(t *testing.T) {
	r := newTestRuntime(t, "")
	ctx := context.Background()
	c := startSleeper(t, r)
	tests := []struct {
		name               string
		cfg                ExecConfig
		stdin              string
		wantOut, wantErr   string
		wantCode, wantFail int
	}{
		{name: "output and code", cfg: ExecConfig{Cmd: []string{"sh", "-c", "echo out; echo err >&2; exit 5"}}, wantOut: "out\n", wantErr: "err\n", wantCode: 5},
		{name: "env user workdir", cfg: ExecConfig{Cmd: []string{"sh", "-c", "echo $A $(id -u) $(pwd)"}, Env: []string{"A=b"}, User: "app", WorkingDir: "/tmp"}, wantOut: "b 1000 /tmp\n"},
		{name: "stdin", cfg: ExecConfig{Cmd: []string{"cat"}, Stdin: true}, stdin: "piped\n", wantOut: "piped\n"},
		{name: "missing", cfg: ExecConfig{Cmd: []string{"nosuch"}}, wantFail: 127},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.ID = "e" + string(rune('0'+i))
			e, err := c.Exec(ctx, tt.cfg)
			if err != nil {
				t.Fatalf("Exec: %v", err)
			}
			s, err := e.Attach(ctx, AttachOptions{Stdin: tt.cfg.Stdin, Stdout: true, Stderr: true})
			if err != nil {
				t.Fatalf("Attach: %v", err)
			}
			defer s.Close()
			var out, errOut bytes.Buffer
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); io.Copy(&out, s.Stdout) }()
			go func() { defer wg.Done(); io.Copy(&errOut, s.Stderr) }()
			_, err = e.Start(ctx)
			var se *StartError
			if tt.wantFail != 0 {
				if !errors.As(err, &se) || se.ExitCode != tt.wantFail {
					t.Fatalf("Start = %v, want StartError %d", err, tt.wantFail)
				}
				return
			}
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			if tt.stdin != "" {
				s.Stdin.Write([]byte(tt.stdin))
				s.Stdin.Close()
			}
			ex, err := e.Wait(ctx)
			wg.Wait()
			if err != nil || ex.ExitCode != tt.wantCode || out.String() != tt.wantOut || errOut.String() != tt.wantErr {
				t.Errorf("got %+v %v out %q err %q; want code %d out %q err %q", ex, err, out.String(), errOut.String(), tt.wantCode, tt.wantOut, tt.wantErr)
			}
		})
	}
}

func TestTTYResize(t *testing.T) {
	r := newTestRuntime(t, "")
	ctx := context.Background()
	c := newTestContainer(t, r, []string{"sh", "-c", "read x; stty size; echo $TERM"}, func(cfg *Config) {
		cfg.Create.Tty, cfg.Create.OpenStdin = true, true
	})
	s, err := c.Start(ctx, &AttachOptions{Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer s.Close()
	if s.Stderr != nil {
		t.Errorf("a tty container has a separate stderr stream")
	}
	if err := c.Resize(ctx, 123, 45); err != nil {
		t.Fatalf("Resize: %v", err)
	}
	s.Stdin.Write([]byte("go\n"))
	out, _ := io.ReadAll(s.Stdout)
	if !strings.Contains(string(out), "45 123\r\n") || !strings.Contains(string(out), "xterm") {
		t.Errorf("tty output %q lacks the size 45 123 or TERM=xterm", out)
	}
	if ex, err := c.Wait(ctx); err != nil || ex.ExitCode != 0 {
		t.Errorf("Wait = %+v, %v", ex, err)
	}
}

func TestStatsAndTop(t *testing.T) {
	r := newTestRuntime(t, "")
	ctx := context.Background()
	c := startSleeper(t, r, func(cfg *Config) { cfg.Create.Memory, cfg.Create.PidsLimit = 64<<20, 50 })
	st, err := c.Stats(ctx)
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if st.MemoryUsage == 0 || st.MemoryLimit != 64<<20 || st.PidsCurrent < 1 || st.PidsLimit != 50 || st.CPUUsage == 0 {
		t.Errorf("stats = %+v", st)
	}
	var top TopResult
	waitFor(t, "sleep in top", func() bool { // the pid exists just before the exec
		top, err = c.Top(ctx)
		return err == nil && len(top.Processes) == 1 && strings.Contains(strings.Join(top.Processes[0], " "), "sleep 1000")
	})
	if top.Titles[1] != "PID" || top.Processes[0][0] != "0" {
		t.Errorf("Top = %+v", top)
	}
}
