package container

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLogWriterFormatAndPartialLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c-json.log")
	w, err := OpenLogWriter(path, LogConfig{})
	if err != nil {
		t.Fatal(err)
	}
	w.Write("stdout", []byte("hel"))
	w.Write("stderr", []byte("err\n"))
	w.Write("stdout", []byte("lo\nwor"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	want := []LogEntry{{Log: "err\n", Stream: "stderr"}, {Log: "hello\n", Stream: "stdout"}, {Log: "wor", Stream: "stdout"}}
	if len(lines) != len(want) {
		t.Fatalf("log has %d lines, want %d: %q", len(lines), len(want), b)
	}
	for i, line := range lines {
		var raw map[string]string
		if err := json.Unmarshal([]byte(line), &raw); err != nil {
			t.Fatalf("line %d is not JSON: %v", i, err)
		}
		if raw["log"] != want[i].Log || raw["stream"] != want[i].Stream {
			t.Errorf("line %d = %v, want %+v", i, raw, want[i])
		}
		if _, err := time.Parse(time.RFC3339Nano, raw["time"]); err != nil {
			t.Errorf("line %d time %q is not RFC3339Nano", i, raw["time"])
		}
	}
}

func writeLines(t *testing.T, path string, cfg LogConfig, n int) {
	t.Helper()
	w, err := OpenLogWriter(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		w.Write("stdout", []byte(fmt.Sprintf("line %d\n", i)))
	}
	w.Close()
}

func TestLogRotationAndRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c-json.log")
	cfg := LogConfig{MaxSize: 1000, MaxFile: 3}
	writeLines(t, path, cfg, 200)
	for _, f := range []string{path, path + ".1", path + ".2"} {
		st, err := os.Stat(f)
		if err != nil || st.Size() > cfg.MaxSize {
			t.Errorf("%s: %v, size over max", f, err)
		}
	}
	if _, err := os.Stat(path + ".3"); err == nil {
		t.Errorf("more files kept than max-file")
	}
	tests := []struct {
		name      string
		opts      LogsOptions
		wantFirst string
		wantLast  string
		wantN     int
	}{
		{name: "all kept", opts: LogsOptions{Tail: -1}, wantLast: "line 200\n"},
		{name: "tail", opts: LogsOptions{Tail: 3}, wantFirst: "line 198\n", wantLast: "line 200\n", wantN: 3},
		{name: "since future", opts: LogsOptions{Tail: -1, Since: time.Now().Add(time.Hour)}, wantN: 0},
		{name: "until past", opts: LogsOptions{Tail: -1, Until: time.Now().Add(-time.Hour)}, wantN: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			err := ReadLogs(context.Background(), path, cfg.MaxFile, tt.opts, func(e LogEntry) error {
				got = append(got, e.Log)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantN != 0 || tt.opts.Tail == 0 || tt.wantLast == "" {
				if len(got) != tt.wantN {
					t.Fatalf("got %d entries, want %d", len(got), tt.wantN)
				}
			}
			if len(got) == 0 {
				return
			}
			if got[len(got)-1] != tt.wantLast || (tt.wantFirst != "" && got[0] != tt.wantFirst) {
				t.Errorf("entries %q ... %q", got[0], got[len(got)-1])
			}
			for i := 1; i < len(got); i++ {
				var a, b int
				fmt.Sscanf(got[i-1], "line %d", &a)
				fmt.Sscanf(got[i], "line %d", &b)
				if b != a+1 {
					t.Fatalf("entries out of order at %d: %q then %q", i, got[i-1], got[i])
				}
			}
		})
	}
}

func TestLogFollowAcrossRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c-json.log")
	cfg := LogConfig{MaxSize: 500, MaxFile: 2}
	w, err := OpenLogWriter(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	got := make(chan []string, 1)
	go func() {
		var lines []string
		ReadLogs(context.Background(), path, cfg.MaxFile, LogsOptions{Tail: 0, Follow: true, Done: done}, func(e LogEntry) error {
			lines = append(lines, e.Log)
			return nil
		})
		got <- lines
	}()
	time.Sleep(100 * time.Millisecond) // let the follower open the file
	for i := 1; i <= 30; i++ {
		w.Write("stdout", []byte(fmt.Sprintf("line %d\n", i)))
		time.Sleep(5 * time.Millisecond)
	}
	w.Close()
	close(done)
	lines := <-got
	if len(lines) == 0 || lines[len(lines)-1] != "line 30\n" {
		t.Fatalf("followed %d lines, last %q", len(lines), lines)
	}
}
