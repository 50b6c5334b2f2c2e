package transport

import (
	"context"
	"io"
	"net"
	"testing"
)

// sink accepts connections on l and discards what they send.
func sink(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			io.Copy(io.Discard, c)
			c.Close()
		}()
	}
}

// proxy splices every connection on l to a new connection to target.
func proxy(l net.Listener, target string) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			b, err := Unix{Path: target}.Dial(context.Background())
			if err != nil {
				c.Close()
				return
			}
			Splice(c, b)
		}()
	}
}

// BenchmarkThroughput compares writing through the daemon's splice with
// writing to the agent's socket directly (the baseline, in the same run).
func BenchmarkThroughput(b *testing.B) {
	back, bp := listen(b)
	go sink(back)
	front, fp := listen(b)
	go proxy(front, bp)
	buf := make([]byte, 256<<10)
	for _, bc := range []struct{ name, path string }{{"direct", bp}, {"spliced", fp}} {
		b.Run(bc.name, func(b *testing.B) {
			c, err := Unix{Path: bc.path}.Dial(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				if _, err := c.Write(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
