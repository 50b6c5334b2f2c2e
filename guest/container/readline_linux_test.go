package container

import (
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReadLine checks that a line is read whole, in pieces or not, and
// that what follows it (an attach's raw stream) is left on the connection.
func TestReadLine(t *testing.T) {
	tests := []struct {
		name    string
		writes  []string
		want    string
		wantErr bool
		rest    string
	}{
		{"line then stream", []string{"{\"op\":\"attach\"}\nraw bytes"}, "{\"op\":\"attach\"}", false, "raw bytes"},
		{"line in pieces", []string{"{\"op\"", ":\"st", "ate\"}\n"}, "{\"op\":\"state\"}", false, ""},
		{"empty line", []string{"\nx"}, "", false, "x"},
		{"long line", []string{strings.Repeat("a", 10000) + "\nz"}, strings.Repeat("a", 10000), false, "z"},
		{"eof before newline", []string{"partial"}, "", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "s"))
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				c, err := net.Dial("unix", ln.Addr().String())
				if err != nil {
					return
				}
				defer c.Close()
				for _, w := range tt.writes {
					c.Write([]byte(w)) //nolint:errcheck // the reader reports what arrived
					time.Sleep(10 * time.Millisecond)
				}
			}()
			c, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			got, err := readLine(c)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("readLine = %q, want an error", got)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("readLine = %q, %v; want %q", got, err, tt.want)
			}
			rest, err := io.ReadAll(c)
			if err != nil || string(rest) != tt.rest {
				t.Fatalf("after the line: %q, %v; want %q", rest, err, tt.rest)
			}
		})
	}
}
