//go:build linux

package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"syscall"
	"time"
)

// bufSize is the read and write size of the clients and the server.
const bufSize = 256 << 10

// server is the target: the first byte of a connection picks the test.
//
//	'U' read until EOF, then reply with the byte count (8 bytes)
//	'D' read an 8-byte size, send that many bytes, half-close
//	'R' echo msg-byte requests until EOF
type server struct {
	ln   net.Listener
	port uint16
	msg  int
}

// startServer serves on ln (a listener on 127.0.0.1 when nil).
func startServer(ln net.Listener, msg int) (*server, error) {
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp4", "127.0.0.1:0"); err != nil {
			return nil, err
		}
	}
	s := &server{ln: ln, port: uint16(ln.Addr().(*net.TCPAddr).Port), msg: msg}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.handle(c.(*net.TCPConn))
		}
	}()
	return s, nil
}

func (s *server) Close() error { return s.ln.Close() }

func (s *server) handle(c *net.TCPConn) {
	defer c.Close()
	var mode [1]byte
	if _, err := io.ReadFull(c, mode[:]); err != nil {
		return
	}
	buf := make([]byte, max(bufSize, s.msg))
	switch mode[0] {
	case 'U':
		var total uint64
		for {
			n, err := c.Read(buf)
			total += uint64(n)
			if err != nil {
				break
			}
		}
		c.Write(binary.BigEndian.AppendUint64(nil, total))
	case 'D':
		if _, err := io.ReadFull(c, buf[:8]); err != nil {
			return
		}
		left := int64(binary.BigEndian.Uint64(buf[:8]))
		for left > 0 {
			n, err := c.Write(buf[:min(int64(len(buf)), left)])
			left -= int64(n)
			if err != nil {
				return
			}
		}
		c.CloseWrite()
	case 'R':
		for {
			if _, err := io.ReadFull(c, buf[:s.msg]); err != nil {
				return
			}
			if _, err := c.Write(buf[:s.msg]); err != nil {
				return
			}
		}
	}
}

func dial(addr string) (*net.TCPConn, error) {
	c, err := net.Dial("tcp4", addr)
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// throughput moves size bytes through addr in one direction and returns
// MB/s (10^6 bytes), timed until the last byte is known to have arrived,
// and the CPU seconds the process (client, forwarder, agent side and
// server alike) used meanwhile.
func throughput(addr string, dir string, size int64) (mbps, cpu float64, err error) {
	cpu0 := cpuSeconds()
	mbps, err = move(addr, dir, size)
	return mbps, cpuSeconds() - cpu0, err
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func move(addr string, dir string, size int64) (float64, error) {
	c, err := dial(addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	buf := make([]byte, bufSize)
	start := time.Now()
	var moved int64
	if dir == "up" {
		c.Write([]byte{'U'})
		for left := size; left > 0; {
			n, err := c.Write(buf[:min(int64(len(buf)), left)])
			left -= int64(n)
			if err != nil {
				return 0, err
			}
		}
		c.CloseWrite()
		if _, err := io.ReadFull(c, buf[:8]); err != nil {
			return 0, fmt.Errorf("no byte count from the server: %w", err)
		}
		moved = int64(binary.BigEndian.Uint64(buf[:8]))
	} else {
		c.Write(append([]byte{'D'}, binary.BigEndian.AppendUint64(nil, uint64(size))...))
		for {
			n, err := c.Read(buf)
			moved += int64(n)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return 0, err
			}
		}
	}
	secs := time.Since(start).Seconds()
	if moved != size {
		return 0, fmt.Errorf("moved %d bytes, want %d", moved, size)
	}
	return float64(size) / 1e6 / secs, nil
}

// roundTrips times n msg-byte request/responses on one connection.
func roundTrips(addr string, n, msg int) ([]time.Duration, error) {
	c, err := dial(addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if _, err := c.Write([]byte{'R'}); err != nil {
		return nil, err
	}
	req, resp := make([]byte, msg), make([]byte, msg)
	out := make([]time.Duration, 0, n)
	for range n {
		t0 := time.Now()
		if _, err := c.Write(req); err != nil {
			return nil, err
		}
		if _, err := io.ReadFull(c, resp); err != nil {
			return nil, err
		}
		out = append(out, time.Since(t0))
	}
	return out, nil
}

// connects times n fresh connections up to their first reply.
func connects(addr string, n, msg int) ([]time.Duration, error) {
	req, resp := append([]byte{'R'}, make([]byte, msg)...), make([]byte, msg)
	out := make([]time.Duration, 0, n)
	for range n {
		t0 := time.Now()
		c, err := dial(addr)
		if err != nil {
			return nil, err
		}
		_, err = c.Write(req)
		if err == nil {
			_, err = io.ReadFull(c, resp)
		}
		c.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, time.Since(t0))
	}
	return out, nil
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

func micros(d time.Duration) float64 { return float64(d) / 1e3 }

func human(n int64) string {
	if n >= 1<<30 && n%(1<<30) == 0 {
		return strconv.FormatInt(n>>30, 10) + " GiB"
	}
	return strconv.FormatInt(n>>20, 10) + " MiB"
}
