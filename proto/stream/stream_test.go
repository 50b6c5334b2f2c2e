package stream

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	for _, h := range []Header{
		{Kind: KindTTRPC},
		{Kind: KindData, ID: "0123456789abcdef0123456789abcdef"},
		{Kind: KindForward, ID: "tcp/abc/80"},
		{Kind: KindDaemon},
		{Kind: KindData, ID: strings.Repeat("x", MaxIDLen)},
	} {
		t.Run(h.Kind.String(), func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, h); err != nil {
				t.Fatal(err)
			}
			buf.WriteString("payload")
			got, err := Read(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if got != h {
				t.Fatalf("got %+v, want %+v", got, h)
			}
			if rest, _ := io.ReadAll(&buf); string(rest) != "payload" {
				t.Fatalf("header read consumed payload: %q left", rest)
			}
		})
	}
}

func TestBadHeaders(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"magic", []byte("HTTP/1.1 200")},
		{"version", []byte("BRTH\x02\x01\x00")},
		{"kind zero", []byte("BRTH\x01\x00\x00")},
		{"kind high", []byte("BRTH\x01\x09\x00")},
		{"short id", []byte("BRTH\x01\x02\x05ab")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Read(bytes.NewReader(tc.in)); !errors.Is(err, ErrBadHeader) {
				t.Fatalf("got %v, want ErrBadHeader", err)
			}
		})
	}
	if err := Write(io.Discard, Header{Kind: KindData, ID: strings.Repeat("x", MaxIDLen+1)}); !errors.Is(err, ErrBadHeader) {
		t.Fatalf("oversized id: %v", err)
	}
}

func FuzzRead(f *testing.F) {
	f.Add([]byte("BRTH\x01\x01\x00"))
	f.Add([]byte("BRTH\x01\x02\x03abc"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := Read(bytes.NewReader(b))
		if err != nil {
			return
		}
		enc, err := h.Encode()
		if err != nil {
			t.Fatalf("decoded header %+v does not encode: %v", h, err)
		}
		if !bytes.HasPrefix(b, enc) {
			t.Fatalf("re-encoding differs: %q vs %q", enc, b)
		}
	})
}
