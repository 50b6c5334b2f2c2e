package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/testpty"
)

// TestRunInteractiveTTY runs `berth run -it` on a pseudo-terminal, as a
// user at a terminal would: berth puts the terminal in raw mode, the
// container sees the terminal's size, a resize of the terminal reaches it,
// the exit code comes back, and the terminal is restored afterwards.
func TestRunInteractiveTTY(t *testing.T) {
	requireBerth(t)
	img := serveImage(t, busyboxImage(t))
	berthOK(t, "pull", "-q", img.ref)
	interactiveTTY(t, "the container", unix.Winsize{Row: 40, Col: 160}, unix.Winsize{Row: 50, Col: 100}, 7,
		"run", "-it", "--rm", img.ref, "sh")
}

// interactiveTTY runs berth args (an interactive shell) on a
// pseudo-terminal of size start and checks what every such session does:
// the shell (who, in messages) sees a terminal of that size, the terminal
// is in raw mode while berth runs, a resize to resize reaches the shell,
// `exit code` typed in comes back as berth's exit code, and the terminal
// leaves raw mode afterwards.
func interactiveTTY(t *testing.T, who string, start, resize unix.Winsize, code int, args ...string) {
	t.Helper()
	ptm, pts := testpty.Open(t)
	testpty.SetSize(t, pts, start.Row, start.Col)
	scr := &screen{}
	go scr.copyFrom(ptm)

	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, berthBin, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pts, pts, pts
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	typeIn := func(s string) {
		if _, err := ptm.Write([]byte(s)); err != nil {
			t.Fatalf("type %q: %v", s, err)
		}
	}
	typeIn("test -t 0 && stty size; echo mark-$((40+2))\r")
	scr.waitFor(t, "mark-42")
	if want := fmt.Sprintf("%d %d", start.Row, start.Col); !strings.Contains(scr.String(), want) {
		t.Errorf("%s did not see the terminal's %dx%d size:\n%q", who, start.Row, start.Col, scr.String())
	}
	if lflag(t, pts)&(unix.ICANON|unix.ECHO) != 0 {
		t.Errorf("terminal not in raw mode while berth %s runs: lflag %#x", args[0], lflag(t, pts))
	}
	if err := unix.IoctlSetWinsize(int(pts.Fd()), unix.TIOCSWINSZ, &resize); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; !strings.Contains(scr.String(), fmt.Sprintf("%d %d", resize.Row, resize.Col)); i++ {
		if time.Now().After(deadline) {
			t.Fatalf("the resize to %dx%d never reached %s:\n%q", resize.Row, resize.Col, who, scr.String())
		}
		typeIn(fmt.Sprintf("stty size; echo again-$((%d+1))\r", i))
		scr.waitFor(t, fmt.Sprintf("again-%d", i+1))
	}
	typeIn(fmt.Sprintf("exit %d\r", code))
	select {
	case err := <-done:
		ee, ok := err.(*exec.ExitError) //nolint:errorlint // Wait returns it unwrapped
		if !ok || ee.ExitCode() != code {
			t.Errorf("berth %s exit: %v, want exit status %d", strings.Join(args, " "), err, code)
		}
	case <-ctx.Done():
		t.Fatalf("berth %s did not end after exit %d:\n%q", strings.Join(args, " "), code, scr.String())
	}
	if lflag(t, pts)&unix.ICANON == 0 {
		t.Errorf("terminal left in raw mode after berth exited: lflag %#x", lflag(t, pts))
	}
}

// lflag is the local-mode flags of the terminal f.
func lflag(t *testing.T, f *os.File) uint32 {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	return tio.Lflag
}

// screen collects what a terminal shows.
type screen struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *screen) copyFrom(f *os.File) {
	b := make([]byte, 4096)
	for {
		n, err := f.Read(b)
		s.mu.Lock()
		s.buf.Write(b[:n])
		s.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// waitFor waits until the screen shows want (the output of an echo, which
// differs from the typed command line because the command computes it).
func (s *screen) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(s.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("the terminal never showed %q:\n%q", want, s.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
