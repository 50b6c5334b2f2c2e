package client

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
)

func TestStdcopyDemux(t *testing.T) {
	a, b := net.Pipe()
	go func() {
		for _, f := range [][]byte{frame(1, "out1\n"), frame(2, "err1\n"), frame(1, ""), frame(1, strings.Repeat("x", 70000))} {
			_, _ = b.Write(f)
		}
		b.Close()
	}()
	var out, errOut bytes.Buffer
	s := &stdioSession{stdout: &out, stderr: &errOut}
	if err := s.copy(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if out.String() != "out1\n"+strings.Repeat("x", 70000) || errOut.String() != "err1\n" {
		t.Errorf("stdout %d bytes, stderr %q", out.Len(), errOut.String())
	}
}

func TestStdcopyBadFrame(t *testing.T) {
	a, b := net.Pipe()
	go func() {
		_, _ = b.Write([]byte{9, 0, 0, 0, 0, 0, 0, 1, 'x'})
		b.Close()
	}()
	s := &stdioSession{stdout: io.Discard, stderr: io.Discard}
	if err := s.copy(context.Background(), a); err == nil {
		t.Errorf("an unknown stream byte must be an error")
	}
}

func TestTTYOutputIsRaw(t *testing.T) {
	a, b := net.Pipe()
	go func() {
		_, _ = b.Write([]byte("\x01raw bytes\r\n"))
		b.Close()
	}()
	var out bytes.Buffer
	s := &stdioSession{tty: true, stdout: &out}
	if err := s.copy(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if out.String() != "\x01raw bytes\r\n" {
		t.Errorf("got %q", out.String())
	}
}

func TestParseDetachKeys(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []byte
		ok   bool
	}{
		{"", []byte{16, 17}, true},
		{"ctrl-p,ctrl-q", []byte{16, 17}, true},
		{"ctrl-a,x", []byte{1, 'x'}, true},
		{"ctrl-@,ctrl-[,ctrl-_", []byte{0, 27, 31}, true},
		{"ctrl-", nil, false},
		{"ctrl-1", nil, false},
		{"ab", nil, false},
		{"a,,b", nil, false},
	} {
		got, err := parseDetachKeys(tc.in)
		if (err == nil) != tc.ok || (tc.ok && !bytes.Equal(got, tc.want)) {
			t.Errorf("parseDetachKeys(%q) = %v, %v", tc.in, got, err)
		}
	}
}

// oneByteReader returns its input a byte at a time, like a terminal.
type oneByteReader struct{ s string }

func (r *oneByteReader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	p[0] = r.s[0]
	r.s = r.s[1:]
	return 1, nil
}

func TestDetachReader(t *testing.T) {
	keys := []byte{16, 17}
	for _, tc := range []struct {
		name, in, want string
		detached       bool
	}{
		{"plain", "hello", "hello", false},
		{"detach", "ab\x10\x11cd", "ab", true},
		{"partial match passed on", "a\x10b\x10\x10\x11", "a\x10b\x10", true},
		{"partial at end", "a\x10", "a", false},
	} {
		for _, split := range []bool{false, true} {
			t.Run(tc.name, func(t *testing.T) {
				var src io.Reader = strings.NewReader(tc.in)
				if split {
					src = &oneByteReader{tc.in}
				}
				got, err := io.ReadAll(newDetachReader(src, keys))
				if string(got) != tc.want || errors.Is(err, errDetached) != tc.detached {
					t.Errorf("split=%v: got %q, %v; want %q detached=%v", split, got, err, tc.want, tc.detached)
				}
			})
		}
	}
}
