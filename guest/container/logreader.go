package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"time"
)

// LogsOptions select what ReadLogs returns, like `docker logs`.
type LogsOptions struct {
	// Tail is the number of most recent entries to return; <0 means all.
	Tail  int
	Since time.Time // zero = no lower bound
	Until time.Time // zero = no upper bound
	// Follow keeps reading new entries until ctx ends or Done is closed
	// (the container stopped); entries written until then are returned.
	Follow bool
	Done   <-chan struct{}
}

// followPoll is how often a followed log is checked for new data.
const followPoll = 50 * time.Millisecond

// ReadLogs calls fn for each entry of the json-file log at path (with its
// rotated files path.1 ... path.<maxFile-1>), oldest first.
func ReadLogs(ctx context.Context, path string, maxFile int, opts LogsOptions, fn func(LogEntry) error) error {
	var entries []LogEntry
	collect := func(e LogEntry) error {
		entries = append(entries, e)
		return nil
	}
	for i := max(maxFile, 1) - 1; i >= 1; i-- {
		if err := readLogFile(path+"."+strconv.Itoa(i), opts, collect); err != nil {
			return err
		}
	}
	cur := &logFile{}
	defer cur.close()
	if err := cur.open(path); err != nil {
		return err
	}
	if err := cur.entries(opts, collect); err != nil {
		return err
	}
	if opts.Tail >= 0 && len(entries) > opts.Tail {
		entries = entries[len(entries)-opts.Tail:]
	}
	for _, e := range entries {
		if err := fn(e); err != nil {
			return err
		}
	}
	if !opts.Follow || (!opts.Until.IsZero() && time.Now().After(opts.Until)) {
		return nil
	}
	return followLog(ctx, path, cur, opts, fn)
}

func followLog(ctx context.Context, path string, cur *logFile, opts LogsOptions, fn func(LogEntry) error) error {
	t := time.NewTicker(followPoll)
	defer t.Stop()
	finishing := false
	for {
		if err := cur.entries(opts, fn); err != nil {
			return err
		}
		if cur.rotated(path) {
			cur.close()
			if err := cur.open(path); err != nil {
				return err
			}
			continue
		}
		if finishing {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-opts.Done:
			finishing = true
		case <-t.C:
		}
	}
}

// logFile reads complete lines from a growing file, keeping a trailing
// partial line for the next call.
type logFile struct {
	f       *os.File
	pending []byte
}

func (l *logFile) open(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	l.f, l.pending = f, nil
	return nil
}

func (l *logFile) close() {
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
}

// rotated reports whether path now names another file than the open one.
func (l *logFile) rotated(path string) bool {
	st, err := os.Stat(path)
	if err != nil {
		return false
	}
	if l.f == nil {
		return true
	}
	cur, err := l.f.Stat()
	return err == nil && !os.SameFile(st, cur)
}

func (l *logFile) entries(opts LogsOptions, fn func(LogEntry) error) error {
	if l.f == nil {
		return nil
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := l.f.Read(buf)
		l.pending = append(l.pending, buf[:n]...)
		if perr := l.flushLines(opts, fn); perr != nil {
			return perr
		}
		if err == io.EOF || (n == 0 && err == nil) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read log: %w", err)
		}
	}
}

func (l *logFile) flushLines(opts LogsOptions, fn func(LogEntry) error) error {
	for {
		i := indexByte(l.pending, '\n')
		if i < 0 {
			return nil
		}
		line := l.pending[:i]
		l.pending = l.pending[i+1:]
		var e LogEntry
		if json.Unmarshal(line, &e) != nil {
			continue // a torn or corrupt line: skip it like docker does
		}
		if (!opts.Since.IsZero() && e.Time.Before(opts.Since)) || (!opts.Until.IsZero() && e.Time.After(opts.Until)) {
			continue
		}
		if err := fn(e); err != nil {
			return err
		}
	}
}

func readLogFile(path string, opts LogsOptions, fn func(LogEntry) error) error {
	l := &logFile{}
	defer l.close()
	if err := l.open(path); err != nil {
		return err
	}
	return l.entries(opts, fn)
}
