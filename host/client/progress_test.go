package client

import (
	"bytes"
	"testing"
)

func TestProgressBar(t *testing.T) {
	tests := []struct {
		name  string
		width int
		m     progressLine
		want  string
	}{
		{"no counts", 200, progressLine{Status: "Downloading"}, ""},
		{"not a byte status", 200, progressLine{Status: "Pull complete", Current: 5, Total: 5}, ""},
		{"a third", 200, progressLine{Status: "Downloading", Current: 1200000, Total: 3400000},
			"[=================>                                 ]    1.2MB/3.4MB"},
		{"narrow terminal: numbers only", 80, progressLine{Status: "Downloading", Current: 1200000, Total: 3400000}, "   1.2MB/3.4MB"},
		{"unknown total", 200, progressLine{Status: "Extracting", Current: 2048}, " 2.048kB"},
		{"more than total", 200, progressLine{Status: "Downloading", Current: 4000, Total: 3000},
			"[==================================================>]      4kB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &progressPrinter{width: tt.width}
			if got := p.bar(tt.m); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestProgressTerminalRedrawsInPlace(t *testing.T) {
	var b bytes.Buffer
	p := &progressPrinter{out: &b, tty: true, width: 80, lines: map[string]int{}, last: map[string]string{}}
	p.Print(progressLine{ID: "1", Status: "Pulling from x"})
	p.Print(progressLine{ID: "aaa", Status: "Pulling fs layer"})
	p.Print(progressLine{ID: "bbb", Status: "Waiting"})
	p.Print(progressLine{ID: "aaa", Status: "Downloading", Current: 1000, Total: 2000})
	p.Print(progressLine{Status: "Digest: sha256:x"})
	want := "1: Pulling from x\n" +
		"\n\x1b[1A\x1b[2K\raaa: Pulling fs layer \r\x1b[1B" +
		"\n\x1b[1A\x1b[2K\rbbb: Waiting \r\x1b[1B" +
		"\x1b[2A\x1b[2K\raaa: Downloading      1kB/2kB\r\x1b[2B" +
		"Digest: sha256:x\n"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
}

func TestProgressPlainSkipsRepeats(t *testing.T) {
	var b bytes.Buffer
	p := newProgressPrinter(&b)
	for _, m := range []progressLine{
		{ID: "aaa", Status: "Waiting"},
		{ID: "aaa", Status: "Waiting"},
		{ID: "aaa", Status: "Downloading", Current: 1, Total: 2},
		{ID: "aaa", Status: "Download complete"},
	} {
		p.Print(m)
	}
	if want := "aaa: Waiting\naaa: Download complete\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}
