package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// berthOnTerminal runs berth with stdout and stderr on a pseudo-terminal of
// 160 columns and returns what it drew.
func berthOnTerminal(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ptm, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	defer ptm.Close()
	if err := unix.IoctlSetPointerInt(int(ptm.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(ptm.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	pts, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pts: %v", err)
	}
	if err := unix.IoctlSetWinsize(int(pts.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Col: 160, Row: 40}); err != nil {
		t.Fatalf("set size: %v", err)
	}
	var screen bytes.Buffer
	read := make(chan struct{})
	go func() {
		io.Copy(&screen, ptm) //nolint:errcheck // ends with EIO once every pts fd is closed
		close(read)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, berthBin, args...)
	cmd.Stdout, cmd.Stderr = pts, pts
	err = cmd.Run()
	pts.Close()
	<-read
	code := 0
	if err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok { //nolint:errorlint // Run returns it unwrapped
			code = ee.ExitCode()
		}
	}
	return screen.String(), code
}

// testPullOnTerminal pulls on a terminal: layer lines are drawn and
// redrawn in place with escape sequences, and the run ends with the
// reference line.
func testPullOnTerminal(t *testing.T, img testImage) {
	screen, code := berthOnTerminal(t, "pull", img.ref)
	t.Logf("screen: %q", screen)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, screen)
	}
	for _, want := range []string{"\x1b[1A\x1b[2K\r", ": Pull complete", "Digest: " + img.digest, img.ref + "\r\n"} {
		if !strings.Contains(screen, want) {
			t.Errorf("screen lacks %q", want)
		}
	}
}
