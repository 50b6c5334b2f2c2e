package transport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"
)

func listen(t testing.TB) (net.Listener, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "s.sock")
	l, err := net.Listen("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, p
}

func TestUnixDialMissing(t *testing.T) {
	_, err := Unix{Path: filepath.Join(t.TempDir(), "none.sock")}.Dial(context.Background())
	if err == nil {
		t.Fatal("dial of a missing socket succeeded")
	}
}

func TestRetry(t *testing.T) {
	p := filepath.Join(t.TempDir(), "late.sock")
	tests := []struct {
		name    string
		listen  bool          // a listener appears after a while
		stop    bool          // stop is closed
		timeout time.Duration // ctx timeout
		wantErr bool
	}{
		{name: "listener appears", listen: true, timeout: 10 * time.Second},
		{name: "ctx ends", timeout: 100 * time.Millisecond, wantErr: true},
		{name: "stop closed", stop: true, timeout: 10 * time.Second, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			stop := make(chan struct{})
			if tt.stop {
				time.AfterFunc(50*time.Millisecond, func() { close(stop) })
			}
			if tt.listen {
				go func() {
					time.Sleep(100 * time.Millisecond)
					l, err := net.Listen("unix", p)
					if err != nil {
						return
					}
					t.Cleanup(func() { l.Close() })
					c, err := l.Accept()
					if err == nil {
						c.Close()
					}
				}()
			}
			c, err := Retry(ctx, Unix{Path: p}, stop)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Retry = %v, wantErr %v", err, tt.wantErr)
			}
			if c != nil {
				c.Close()
			}
			if tt.stop && ctx.Err() != nil {
				t.Errorf("Retry returned only when ctx ended, not when stop closed")
			}
		})
	}
}

// TestSplice: bytes pass both ways unchanged, and a half-close on one side
// reaches the other while the reply still flows back.
func TestSplice(t *testing.T) {
	front, fp := listen(t)
	back, bp := listen(t)
	// The back end echoes everything until EOF, then says "bye" and closes.
	go func() {
		c, err := back.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
		c.Write([]byte("bye"))
	}()
	spliced := make(chan error, 1)
	go func() {
		c, err := front.Accept()
		if err != nil {
			spliced <- err
			return
		}
		b, err := Unix{Path: bp}.Dial(context.Background())
		if err != nil {
			c.Close()
			spliced <- err
			return
		}
		spliced <- Splice(c, b)
	}()
	c, err := Unix{Path: fp}.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	payload := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	go func() {
		c.Write(payload)
		c.(*net.UnixConn).CloseWrite()
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	want := append(payload, "bye"...)
	if !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes, want %d (echo + bye after half-close)", len(got), len(want))
	}
	select {
	case err := <-spliced:
		if err != nil {
			t.Errorf("Splice = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Splice did not return after both sides closed")
	}
}

// TestSpliceBackGone: when the back end closes abruptly, the front end sees
// EOF and Splice returns.
func TestSpliceBackGone(t *testing.T) {
	a1, a2 := net.Pipe()
	b1, b2 := net.Pipe()
	done := make(chan error, 1)
	go func() { done <- Splice(a2, b1) }()
	b2.Close()
	buf := make([]byte, 1)
	if _, err := a1.Read(buf); !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("front read after back closed = %v, want EOF", err)
	}
	a1.Close()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Splice did not return")
	}
}
