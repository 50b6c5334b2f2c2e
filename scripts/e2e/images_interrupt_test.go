package e2e

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/testimage"
)

// testPullInterrupted interrupts a pull with SIGINT (Ctrl-C): berth exits
// with status 130, no image appears, and pulling again works.
func testPullInterrupted(t *testing.T, _ testImage) {
	// Blob downloads stop after 16 KiB until the gate opens: the pull is
	// mid-layer when it is interrupted, however slow the machine.
	host, gate := testimage.GatedRegistry(t, 16<<10)
	ref := host + "/test/slow:1"
	testimage.Push(t, ref, busyboxImage(t))
	before := berthOK(t, "images", "-q", "--no-trunc").stdout

	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, berthBin, "pull", ref)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitForLine(t, out, ": Pulling fs layer")
	select {
	case <-gate.Held():
	case <-ctx.Done():
		t.Fatalf("no layer download reached the gate")
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatalf("interrupt: %v", err)
	}
	go io.Copy(io.Discard, out) //nolint:errcheck // drain until exit
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("interrupted pull: %v, want exit status 130", err)
	}
	if after := berthOK(t, "images", "-q", "--no-trunc").stdout; after != before {
		t.Errorf("an interrupted pull changed the images: %q, was %q", after, before)
	}
	gate.Open()
	again := berthOK(t, "pull", "-q", ref)
	if again.stdout != ref+"\n" {
		t.Errorf("pull after the interrupted one:\n%s", again)
	}
	berthOK(t, "rmi", ref)
}

// waitForLine reads r until a line contains s.
func waitForLine(t *testing.T, r io.Reader, s string) {
	t.Helper()
	sc := bufio.NewScanner(r)
	var seen []string
	for sc.Scan() {
		if strings.Contains(sc.Text(), s) {
			return
		}
		seen = append(seen, sc.Text())
	}
	t.Fatalf("no line with %q; got %q (%v)", s, seen, sc.Err())
}
