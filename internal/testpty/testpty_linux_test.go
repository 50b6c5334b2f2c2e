package testpty

import (
	"bufio"
	"errors"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestOpen: what is written to the terminal end is read, line-disciplined,
// from the master; the size set is the size the terminal reports; both ends
// are closed when the test ends.
func TestOpen(t *testing.T) {
	var ends []*os.File
	t.Run("pair", func(t *testing.T) {
		ptm, pts := Open(t)
		ends = []*os.File{ptm, pts}
		if !isTerminal(pts.Fd()) || !isTerminal(ptm.Fd()) {
			t.Fatalf("ends are not terminals")
		}
		if _, err := pts.WriteString("hello\n"); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(ptm).ReadString('\n')
		if err != nil || strings.TrimRight(line, "\r\n") != "hello" {
			t.Fatalf("master read %q, %v; want hello", line, err)
		}
	})
	for i, f := range ends {
		if _, err := f.Stat(); !errors.Is(err, os.ErrClosed) {
			t.Errorf("end %d still open after the test (stat: %v)", i, err)
		}
	}
}

func TestSetSize(t *testing.T) {
	tests := []struct{ rows, cols uint16 }{{24, 80}, {40, 160}, {1, 1}}
	for _, tc := range tests {
		t.Run("", func(t *testing.T) {
			ptm, pts := Open(t)
			SetSize(t, pts, tc.rows, tc.cols)
			ws, err := unix.IoctlGetWinsize(int(ptm.Fd()), unix.TIOCGWINSZ)
			if err != nil {
				t.Fatal(err)
			}
			if ws.Row != tc.rows || ws.Col != tc.cols {
				t.Errorf("size %dx%d, want %dx%d", ws.Col, ws.Row, tc.cols, tc.rows)
			}
		})
	}
}

func isTerminal(fd uintptr) bool {
	_, err := unix.IoctlGetTermios(int(fd), unix.TCGETS)
	return err == nil
}
