package testpty

import (
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/testenv"
)

// Open opens a new pseudo-terminal and returns its two ends: the master the
// test reads what was shown from (and types into), and the terminal a
// command gets as its stdin/stdout. Both are closed when the test ends. A
// machine without /dev/ptmx skips the test, saying so (fails it in CI).
func Open(t testing.TB) (ptm, pts *os.File) {
	t.Helper()
	ptm, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		testenv.SkipOrFail(t, fmt.Sprintf("no pseudo-terminals here (/dev/ptmx): %v", err))
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
		t.Fatalf("open /dev/pts/%d: %v", n, err)
	}
	t.Cleanup(func() { pts.Close() })
	return ptm, pts
}

// SetSize sets the window size of the terminal f (either end).
func SetSize(t testing.TB, f *os.File, rows, cols uint16) {
	t.Helper()
	if err := unix.IoctlSetWinsize(int(f.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		t.Fatalf("set terminal size %dx%d: %v", cols, rows, err)
	}
}
