package serialmux

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// portWrites records every write that reaches the port.
type portWrites struct{ writes [][]byte }

func (p *portWrites) Write(b []byte) (int, error) {
	p.writes = append(p.writes, bytes.Clone(b))
	return len(b), nil
}

func header(typ byte, length uint32) []byte {
	h := make([]byte, yamuxHeaderLen)
	h[1] = typ
	binary.BigEndian.PutUint32(h[8:], length)
	return h
}

func TestSessionConnJoinsDataFrames(t *testing.T) {
	data, update, fin := header(0, 3), header(1, 0), header(0, 0)
	for _, tc := range []struct {
		name   string
		writes [][]byte
		want   [][]byte
	}{
		{"header and body", [][]byte{data, []byte("abc")}, [][]byte{append(bytes.Clone(data), "abc"...)}},
		{"window update", [][]byte{update}, [][]byte{update}},
		{"data header without body", [][]byte{fin}, [][]byte{fin}},
		{"mixed", [][]byte{update, data, []byte("abc"), fin}, [][]byte{update, append(bytes.Clone(data), "abc"...), fin}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &portWrites{}
			c := &sessionConn{w: p, done: make(chan struct{})}
			for _, w := range tc.writes {
				if n, err := c.Write(w); err != nil || n != len(w) {
					t.Fatalf("Write(%d bytes) = %d, %v", len(w), n, err)
				}
			}
			if len(p.writes) != len(tc.want) {
				t.Fatalf("%d writes reached the port, want %d: %q", len(p.writes), len(tc.want), p.writes)
			}
			for i := range tc.want {
				if !bytes.Equal(p.writes[i], tc.want[i]) {
					t.Errorf("write %d = %q, want %q", i, p.writes[i], tc.want[i])
				}
			}
		})
	}
}
