package transport

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/containerd/errdefs"
)

// TestHvsockAccept checks the guest-dials direction over TCP: each
// connection the "guest" makes is handed to one Dial, bytes flow both
// ways, a Dial with nothing to hand out ends with its context, and Close
// fails later Dials.
func TestHvsockAccept(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := NewAccept(ln)
	defer a.Close()
	for i := range 3 {
		guest, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		host, err := a.Dial(ctx)
		cancel()
		if err != nil {
			t.Fatalf("Dial %d: %v", i, err)
		}
		if _, err := guest.Write([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 1)
		if _, err := io.ReadFull(host, b); err != nil || b[0] != byte(i) {
			t.Errorf("conn %d: read %v %v", i, b, err)
		}
		host.Close()
		guest.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := a.Dial(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Dial with no guest connection = %v, want deadline exceeded", err)
	}
	a.Close()
	if _, err := a.Dial(context.Background()); !errdefs.IsUnavailable(err) {
		t.Errorf("Dial after Close = %v, want unavailable", err)
	}
}
