package qemu

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append([]byte(nil), t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// consoleScan is how many lines at the end of the console log are
// searched for a kernel panic; consoleQuote how many an error quotes (the
// error line and these fit the 5 lines of daemon.log berth machine start
// shows).
const (
	consoleScan  = 60
	consoleQuote = 4
)

// kernelPanic returns the "Kernel panic - ..." line of a console log
// excerpt without its timestamp, or "".
func kernelPanic(console string) string {
	for _, l := range strings.Split(console, "\n") {
		if i := strings.Index(l, "Kernel panic"); i >= 0 {
			return strings.TrimSpace(l[i:])
		}
	}
	return ""
}

// consoleExcerpt returns the lines of a console log excerpt worth
// quoting: the last consoleQuote lines, ending at a kernel panic when
// there was one (the call trace after it says nothing to a user).
func consoleExcerpt(console string) string {
	if strings.TrimSpace(console) == "" {
		return ""
	}
	lines := strings.Split(console, "\n")
	for i, l := range lines {
		if strings.Contains(l, "Kernel panic") {
			lines = lines[:i+1]
			break
		}
	}
	if len(lines) > consoleQuote {
		lines = lines[len(lines)-consoleQuote:]
	}
	return strings.Join(lines, "\n")
}

// consoleTail returns the last n lines of the console log in dir.
func consoleTail(dir string, n int) string {
	return fileTail(dir+string(os.PathSeparator)+consoleFile, n)
}

// fileTail returns the last n lines of the file at path ("" when empty or
// unreadable), reading at most its last 64KiB.
func fileTail(path string, n int) string {
	fh, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer fh.Close()
	const max = 64 << 10
	if fi, err := fh.Stat(); err == nil && fi.Size() > max {
		fh.Seek(fi.Size()-max, io.SeekStart)
	}
	b, _ := io.ReadAll(fh)
	b = bytes.ReplaceAll(bytes.TrimRight(b, "\r\n\x00"), []byte("\r"), nil)
	lines := strings.Split(string(b), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// outputNote formats what a process printed for an error message.
func outputNote(title, out string) string {
	out = strings.TrimSpace(out)
	if out == "" {
		return ""
	}
	return fmt.Sprintf("; %s:\n%s", title, out)
}

// waitFile waits until path exists.
func waitFile(ctx context.Context, path string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
