package client

import (
	"io"
	"os"

	"golang.org/x/term"
)

// terminal is a local terminal put into raw mode for a -t session.
type terminal struct {
	fd    int
	state *term.State
}

// terminalFd returns the descriptor of f when it is a terminal.
func terminalFd(f any) (int, bool) {
	file, ok := f.(*os.File)
	if !ok || !term.IsTerminal(int(file.Fd())) {
		return 0, false
	}
	return int(file.Fd()), true
}

// makeRaw puts the terminal behind in into raw mode; restore undoes it.
// It returns nil when in is not a terminal.
func makeRaw(in io.Reader) (*terminal, error) {
	fd, ok := terminalFd(in)
	if !ok {
		return nil, nil
	}
	st, err := term.MakeRaw(fd)
	if err != nil {
		return nil, err
	}
	return &terminal{fd: fd, state: st}, nil
}

// restore puts the terminal back as it was; safe on nil and twice.
func (t *terminal) restore() {
	if t == nil || t.state == nil {
		return
	}
	_ = term.Restore(t.fd, t.state)
	t.state = nil
}

// terminalSize is the size of the terminal behind out, or zeros.
func terminalSize(out io.Writer) (height, width uint32) {
	fd, ok := terminalFd(out)
	if !ok {
		return 0, 0
	}
	w, h, err := term.GetSize(fd)
	if err != nil || w <= 0 || h <= 0 {
		return 0, 0
	}
	return uint32(h), uint32(w)
}
