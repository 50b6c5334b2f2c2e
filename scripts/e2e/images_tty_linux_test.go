package e2e

import (
	"bytes"
	"context"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/testpty"
)

// berthOnTerminal runs berth with stdout and stderr on a pseudo-terminal of
// 160 columns and returns what it drew.
func berthOnTerminal(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ptm, pts := testpty.Open(t)
	testpty.SetSize(t, pts, 40, 160)
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
	err := cmd.Run()
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
