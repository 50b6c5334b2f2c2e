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
)

// TestRunInteractiveTTY runs `berth run -it` on a pseudo-terminal, as a
// user at a terminal would: berth puts the terminal in raw mode, the
// container sees the terminal's size, a resize of the terminal reaches it,
// the exit code comes back, and the terminal is restored afterwards.
func TestRunInteractiveTTY(t *testing.T) {
	requireBerth(t)
	img := serveImage(t, busyboxImage(t))
	berthOK(t, "pull", "-q", img.ref)

	ptm, pts := openPTY(t, 40, 160)
	scr := &screen{}
	go scr.copyFrom(ptm)

	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, berthBin, "run", "-it", "--rm", img.ref, "sh")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pts, pts, pts
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	type_ := func(s string) {
		if _, err := ptm.Write([]byte(s)); err != nil {
			t.Fatalf("type %q: %v", s, err)
		}
	}
	type_("stty size; echo mark-$((20+1))\r")
	scr.waitFor(t, "mark-21")
	if !strings.Contains(scr.String(), "40 160") {
		t.Errorf("the container did not see the terminal's 40x160 size:\n%q", scr.String())
	}
	tio, err := unix.IoctlGetTermios(int(pts.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if tio.Lflag&(unix.ICANON|unix.ECHO) != 0 {
		t.Errorf("terminal not in raw mode while attached: lflag %#x", tio.Lflag)
	}

	if err := unix.IoctlSetWinsize(int(pts.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 50, Col: 100}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; !strings.Contains(scr.String(), "50 100"); i++ {
		if time.Now().After(deadline) {
			t.Fatalf("the resize to 50x100 never reached the container:\n%q", scr.String())
		}
		type_(fmt.Sprintf("stty size; echo again-$((%d+1))\r", i))
		scr.waitFor(t, fmt.Sprintf("again-%d", i+1))
	}

	type_("exit 7\r")
	select {
	case err := <-done:
		ee, ok := err.(*exec.ExitError) //nolint:errorlint // Wait returns it unwrapped
		if !ok || ee.ExitCode() != 7 {
			t.Errorf("berth run -it exit: %v, want exit status 7", err)
		}
	case <-ctx.Done():
		t.Fatalf("berth run -it did not end after exit 7:\n%q", scr.String())
	}
	tio, err = unix.IoctlGetTermios(int(pts.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if tio.Lflag&unix.ICANON == 0 {
		t.Errorf("terminal left in raw mode after berth exited: lflag %#x", tio.Lflag)
	}
}

// openPTY opens a pseudo-terminal pair of the given size; both ends are
// closed at the end of the test.
func openPTY(t *testing.T, rows, cols uint16) (ptm, pts *os.File) {
	t.Helper()
	ptm, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { ptm.Close() })
	if err := unix.IoctlSetPointerInt(int(ptm.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(ptm.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	pts, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pts: %v", err)
	}
	t.Cleanup(func() { pts.Close() })
	if err := unix.IoctlSetWinsize(int(pts.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		t.Fatalf("set size: %v", err)
	}
	return ptm, pts
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
