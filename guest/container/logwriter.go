package container

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// maxLogLine is where a line without newline is cut into a partial entry,
// as docker does (16 KiB).
const maxLogLine = 16 << 10

// LogEntry is one json-file log record.
type LogEntry struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

// LogWriter writes docker's json-file format with rotation. It is safe for
// concurrent use by the stdout and stderr pumps.
type LogWriter struct {
	mu      sync.Mutex
	path    string
	cfg     LogConfig
	f       *os.File
	size    int64
	partial map[string][]byte
}

// OpenLogWriter appends to path (creating it), rotating per cfg.
func OpenLogWriter(path string, cfg LogConfig) (*LogWriter, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open log: %w", err)
	}
	return &LogWriter{path: path, cfg: cfg, f: f, size: st.Size(), partial: map[string][]byte{}}, nil
}

// Write records p from stream ("stdout" or "stderr"): one entry per line,
// partial lines kept until their newline (or 16 KiB, or Flush).
func (w *LogWriter) Write(stream string, p []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	buf := append(w.partial[stream], p...)
	for {
		i := indexByte(buf, '\n')
		if i < 0 {
			break
		}
		if err := w.emit(stream, buf[:i+1]); err != nil {
			return err
		}
		buf = buf[i+1:]
	}
	for len(buf) >= maxLogLine {
		if err := w.emit(stream, buf[:maxLogLine]); err != nil {
			return err
		}
		buf = buf[maxLogLine:]
	}
	w.partial[stream] = append([]byte(nil), buf...)
	return nil
}

// Flush writes out incomplete lines (at container exit).
func (w *LogWriter) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range []string{"stdout", "stderr"} {
		if len(w.partial[s]) > 0 {
			if err := w.emit(s, w.partial[s]); err != nil {
				return err
			}
			w.partial[s] = nil
		}
	}
	return nil
}

// Close flushes and closes the file.
func (w *LogWriter) Close() error {
	err := w.Flush()
	w.mu.Lock()
	defer w.mu.Unlock()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (w *LogWriter) emit(stream string, line []byte) error {
	b, err := json.Marshal(LogEntry{Log: string(line), Stream: stream, Time: time.Now().UTC()})
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if w.cfg.MaxSize > 0 && w.size > 0 && w.size+int64(len(b)) > w.cfg.MaxSize {
		if err := w.rotate(); err != nil {
			return err
		}
	}
	n, err := w.f.Write(b)
	w.size += int64(n)
	return err
}

// rotate shifts path.N-1 -> path.N ... path -> path.1 and starts a new file.
func (w *LogWriter) rotate() error {
	if err := w.f.Close(); err != nil {
		return err
	}
	keep := max(w.cfg.MaxFile, 1)
	if keep > 1 {
		for i := keep - 1; i > 1; i-- {
			os.Rename(w.path+"."+strconv.Itoa(i-1), w.path+"."+strconv.Itoa(i)) //nolint:errcheck // a missing older file is normal
		}
		if err := os.Rename(w.path, w.path+".1"); err != nil {
			return fmt.Errorf("rotate log: %w", err)
		}
	}
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("rotate log: %w", err)
	}
	w.f, w.size = f, 0
	return nil
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}
