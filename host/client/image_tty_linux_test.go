package client

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/testpty"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

func TestTerminalRefusals(t *testing.T) {
	_, pts := testpty.Open(t)
	t.Run("load from a terminal", func(t *testing.T) {
		f := &fakeImages{}
		c, _, _ := newTestCLI(t, f)
		c.in = pts
		msg, code := execCmd(t, c.newLoadCommand())
		if code != 1 || msg != "Error: requested load from stdin, but stdin is empty\n" {
			t.Errorf("got exit %d %q", code, msg)
		}
	})
	t.Run("save to a terminal", func(t *testing.T) {
		f := inspectFake()
		c, _, _ := newTestCLI(t, f)
		c.out = pts
		msg, code := execCmd(t, c.newSaveCommand(), "busybox")
		if code != 1 || msg != "Error: cowardly refusing to save to a terminal. Use the -o flag or redirect\n" {
			t.Errorf("got exit %d %q", code, msg)
		}
		if f.calls != 0 {
			t.Errorf("the agent was asked to save")
		}
	})
}

func TestPullOnTerminalDrawsBars(t *testing.T) {
	ptm, pts := testpty.Open(t)
	testpty.SetSize(t, pts, 40, 160)
	var screen bytes.Buffer
	read := make(chan struct{})
	go func() {
		io.Copy(&screen, ptm) //nolint:errcheck // ends with EIO when pts closes
		close(read)
	}()
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	c, _, _ := newTestCLI(t, &fakeImages{progress: testPullProgress("x:1")})
	c.out = pts
	if err := c.runPull(context.Background(), pullOptions{ref: "x:1"}); err != nil {
		t.Fatalf("pull: %v", err)
	}
	pts.Close()
	<-read
	got := screen.String()
	for _, want := range []string{
		"\x1b[1A\x1b[2K\r" + testLayer + ": Pulling fs layer",
		testLayer + ": Downloading [=================>                                 ]    1.2MB/3.4MB",
		testLayer + ": Pull complete",
		"Digest: " + pullDigest,
		"x:1\r\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("screen lacks %q:\n%q", want, got)
		}
	}
}

func TestPullInterrupted(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	f := &fakeImages{block: make(chan struct{}), progress: []*agentv1.PullProgress{{Id: testLayer, Status: "Pulling fs layer"}}}
	c, _, _ := newTestCLI(t, f)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.runPull(ctx, pullOptions{ref: "x:1"}) }()
	<-f.block
	cancel()
	err := <-done
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 130 || ee.err != nil {
		t.Fatalf("err = %v, want a silent exit 130", err)
	}
}
