package container

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// fakeAgent is the child "agent" of TestLiveRestore: it opens a runtime at
// dir, starts a ticking container, says "started <id>" and waits to be
// SIGKILLed.
func fakeAgent(dir string) int {
	ctx := context.Background()
	r, err := New(ctx, filepath.Join(dir, "containers"), WithCrunRoot(filepath.Join(dir, "crun")))
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	c, err := r.Create(ctx, Config{
		ID: "restore", Image: imageConfig(), Lowers: []string{os.Getenv("BERTH_TEST_LOWER")},
		Create: CreateConfig{Cmd: []string{"sh", "-c", "i=0; while [ ! -e /tmp/stop ]; do echo tick $i; i=$((i+1)); sleep 0.05; done; exit 4"}},
	})
	if err == nil {
		_, err = c.Start(ctx, nil)
	}
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	fmt.Println("started", c.ID())
	select {}
}

func TestLiveRestore(t *testing.T) {
	testenv := newTestRuntime(t, "") // checks root, crun, builds the lower
	testenv.Close()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "BERTH_TEST_AGENT="+dir, "BERTH_TEST_LOWER="+testLower)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if !strings.HasPrefix(line, "started") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("fake agent: %q", line)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	ctx := context.Background()
	r := newTestRuntime(t, dir)
	c, err := r.Get("restore")
	if err != nil {
		t.Fatalf("re-adopt: %v", err)
	}
	t.Cleanup(func() { c.Delete(ctx, true) })
	if st := c.State(ctx); st.Status != StatusRunning || st.Pid == 0 {
		t.Fatalf("state after agent kill = %+v, want running", st)
	}
	n := countLogLines(t, c)
	waitFor(t, "logs to continue", func() bool { return countLogLines(t, c) > n+3 })
	if err := os.WriteFile(filepath.Join(c.Rootfs(), "tmp", "stop"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ex, err := c.Wait(ctx)
	if err != nil || ex.ExitCode != 4 {
		t.Fatalf("Wait = %+v, %v; want exit 4", ex, err)
	}
	waitFor(t, "exit recorded", func() bool { return c.State(ctx).Status == StatusExited })
	if st := c.State(ctx); st.ExitCode != 4 || st.FinishedAt.IsZero() {
		t.Errorf("state = %+v", st)
	}
}

func countLogLines(t testing.TB, c *Container) int {
	n := 0
	err := c.Logs(context.Background(), LogsOptions{Tail: -1}, func(e LogEntry) error {
		if strings.HasPrefix(e.Log, "tick ") {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Logs: %v", err)
	}
	return n
}
