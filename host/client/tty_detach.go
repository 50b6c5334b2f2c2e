package client

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// defaultDetachKeys is docker's detach sequence.
const defaultDetachKeys = "ctrl-p,ctrl-q"

// errDetached ends an attached session when the user typed the detach
// sequence; the container keeps running.
var errDetached = errors.New("detached from the container")

// parseDetachKeys turns docker's detach-keys notation ("ctrl-p,ctrl-q",
// "ctrl-a,x") into the bytes the terminal sends.
func parseDetachKeys(s string) ([]byte, error) {
	if s == "" {
		s = defaultDetachKeys
	}
	var out []byte
	for _, k := range strings.Split(s, ",") {
		b, err := detachKey(k)
		if err != nil {
			return nil, fmt.Errorf("invalid detach keys (%s) provided", s)
		}
		out = append(out, b)
	}
	return out, nil
}

func detachKey(k string) (byte, error) {
	if len(k) == 1 {
		return k[0], nil
	}
	key, ok := strings.CutPrefix(strings.ToLower(k), "ctrl-")
	if !ok || len(key) != 1 {
		return 0, errors.New("bad key")
	}
	c := key[0]
	switch {
	case c >= 'a' && c <= 'z':
		return c - 'a' + 1, nil
	case c == '@':
		return 0, nil
	case c >= '[' && c <= '_':
		return c - '[' + 27, nil
	}
	return 0, errors.New("bad key")
}

// detachReader passes input through until the detach sequence is read,
// then returns errDetached. Bytes of a partial match are held back and
// passed on when the match fails, as docker's escape proxy does.
type detachReader struct {
	r    io.Reader
	keys []byte
	held int    // how many bytes of keys matched so far
	out  []byte // bytes ready to return
	buf  []byte
	err  error // sticky: errDetached once the sequence was read
}

func newDetachReader(r io.Reader, keys []byte) *detachReader {
	return &detachReader{r: r, keys: keys, buf: make([]byte, 4096)}
}

func (d *detachReader) Read(p []byte) (int, error) {
	for len(d.out) == 0 {
		if d.err != nil {
			return 0, d.err
		}
		n, err := d.r.Read(d.buf)
		if derr := d.scan(d.buf[:n]); derr != nil {
			d.err = derr
			if len(d.out) > 0 {
				break // hand out what came before the sequence first
			}
			return 0, derr
		}
		if err != nil {
			if len(d.out) > 0 {
				break
			}
			return 0, err
		}
	}
	n := copy(p, d.out)
	d.out = d.out[n:]
	return n, nil
}

// scan moves input into out, tracking the detach sequence.
func (d *detachReader) scan(in []byte) error {
	for _, b := range in {
		if len(d.keys) > 0 && b == d.keys[d.held] {
			d.held++
			if d.held == len(d.keys) {
				d.held = 0
				d.keys = nil // after detaching nothing more is read
				return errDetached
			}
			continue
		}
		if d.held > 0 {
			d.out = append(d.out, d.keys[:d.held]...)
			d.held = 0
			if b == d.keys[0] {
				d.held = 1
				continue
			}
		}
		d.out = append(d.out, b)
	}
	return nil
}
