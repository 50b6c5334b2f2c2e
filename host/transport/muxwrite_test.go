package transport

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"
)

// writeRecorder is a connection that records every Write.
type writeRecorder struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
}

func (r *writeRecorder) Write(b []byte) (int, error) {
	r.mu.Lock()
	r.writes = append(r.writes, bytes.Clone(b))
	r.mu.Unlock()
	return len(b), nil
}

// yamuxHeader encodes a frame header as yamux does.
func yamuxHeader(typ byte, flags uint16, stream, length uint32) []byte {
	h := make([]byte, yamuxHeaderLen)
	h[1] = typ
	binary.BigEndian.PutUint16(h[2:], flags)
	binary.BigEndian.PutUint32(h[4:], stream)
	binary.BigEndian.PutUint32(h[8:], length)
	return h
}

func TestFrameConnJoinsDataFrames(t *testing.T) {
	data := yamuxHeader(yamuxTypeData, 0, 3, 5)
	windowUpdate := yamuxHeader(1, 1, 5, 0) // SYN, no body
	ping := yamuxHeader(2, 1, 0, 7)         // a ping's length is its id: no body
	emptyData := yamuxHeader(yamuxTypeData, 4, 3, 0)
	for _, tc := range []struct {
		name   string
		writes [][]byte
		want   [][]byte
	}{
		{"data header and body", [][]byte{data, []byte("hello")}, [][]byte{append(bytes.Clone(data), "hello"...)}},
		{"window update alone", [][]byte{windowUpdate}, [][]byte{windowUpdate}},
		{"ping alone", [][]byte{ping}, [][]byte{ping}},
		{"data frame without body (FIN)", [][]byte{emptyData}, [][]byte{emptyData}},
		{"update then data", [][]byte{windowUpdate, data, []byte("hello"), windowUpdate},
			[][]byte{windowUpdate, append(bytes.Clone(data), "hello"...), windowUpdate}},
		{"other bytes pass through", [][]byte{[]byte("abc")}, [][]byte{[]byte("abc")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &writeRecorder{}
			fc := newFrameConn(rec, rec)
			for _, w := range tc.writes {
				n, err := fc.Write(w)
				if err != nil || n != len(w) {
					t.Fatalf("Write(%d bytes) = %d, %v", len(w), n, err)
				}
			}
			if len(rec.writes) != len(tc.want) {
				t.Fatalf("%d writes reached the port, want %d: %q", len(rec.writes), len(tc.want), rec.writes)
			}
			for i := range tc.want {
				if !bytes.Equal(rec.writes[i], tc.want[i]) {
					t.Errorf("write %d = %q, want %q", i, rec.writes[i], tc.want[i])
				}
			}
		})
	}
}

func TestFrameConnVectored(t *testing.T) {
	a, b := socketPair(t)
	defer a.Close()
	defer b.Close()
	fc := newFrameConn(a, a)
	if !fc.vectored {
		t.Fatalf("a unix socket should take writev")
	}
	body := bytes.Repeat([]byte("x"), 100<<10)
	hdr := yamuxHeader(yamuxTypeData, 0, 1, uint32(len(body)))
	go func() {
		fc.Write(hdr)
		fc.Write(body)
		a.CloseWrite()
	}()
	got, err := io.ReadAll(b)
	if err != nil {
		t.Fatal(err)
	}
	if want := append(bytes.Clone(hdr), body...); !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes, want header and body (%d bytes)", len(got), len(want))
	}
}

// socketPair returns two connected unix stream sockets.
func socketPair(t *testing.T) (*net.UnixConn, *net.UnixConn) {
	ln, path := listen(t)
	a, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ln.Accept()
	if err != nil {
		a.Close()
		t.Fatal(err)
	}
	return a.(*net.UnixConn), b.(*net.UnixConn)
}
