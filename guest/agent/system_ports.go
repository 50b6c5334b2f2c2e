//go:build linux

package agent

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/types/known/emptypb"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// ListeningPorts lists the ports processes listen on in the agent's
// network namespace (where --network host containers run), read from
// /proc/net/{tcp,tcp6,udp,udp6}, leaving out the agent's own sockets.
func (y *systemService) ListeningPorts(ctx context.Context, _ *emptypb.Empty) (*agentv1.ListeningPortsResponse, error) {
	own := ownSocketInodes("/proc/self/fd")
	ports, err := listeningPorts("/proc/net", own)
	if err != nil {
		return nil, err
	}
	return &agentv1.ListeningPortsResponse{Ports: ports}, nil
}

// Socket states in /proc/net/{tcp,udp}: LISTEN for TCP; an unconnected
// (CLOSE) socket with a local port for UDP.
const (
	tcpListen = 0x0A
	udpClosed = 0x07
)

// listeningPorts reads the socket tables under dir (normally /proc/net),
// skipping the sockets whose inode is in skip. The result is sorted by
// proto, port and address, without duplicates.
func listeningPorts(dir string, skip map[uint64]bool) ([]*agentv1.ListeningPort, error) {
	seen := map[string]bool{}
	var out []*agentv1.ListeningPort
	for _, table := range []struct{ file, proto string }{
		{"tcp", "tcp"}, {"tcp6", "tcp"}, {"udp", "udp"}, {"udp6", "udp"},
	} {
		f, err := os.Open(filepath.Join(dir, table.file))
		if errors.Is(err, fs.ErrNotExist) {
			continue // no IPv6 in this kernel
		}
		if err != nil {
			return nil, fmt.Errorf("read socket table: %w", err)
		}
		ports, err := parseSocketTable(f, table.proto, skip)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, table.file), err)
		}
		for _, p := range ports {
			k := p.Proto + "/" + p.Address + "/" + strconv.Itoa(int(p.Port))
			if !seen[k] {
				seen[k] = true
				out = append(out, p)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Proto != b.Proto {
			return a.Proto < b.Proto
		}
		if a.Port != b.Port {
			return a.Port < b.Port
		}
		return a.Address < b.Address
	})
	return out, nil
}

// parseSocketTable reads one /proc/net socket table: a header line, then
// "sl local rem st queues tr retrnsmt uid timeout inode ...".
func parseSocketTable(r io.Reader, proto string, skip map[uint64]bool) ([]*agentv1.ListeningPort, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	var out []*agentv1.ListeningPort
	for first := true; sc.Scan(); first = false {
		f := strings.Fields(sc.Text())
		if first || len(f) < 10 {
			continue
		}
		st, err := strconv.ParseUint(f[3], 16, 8)
		if err != nil {
			return nil, fmt.Errorf("bad state %q", f[3])
		}
		if (proto == "tcp" && st != tcpListen) || (proto == "udp" && (st != udpClosed || !strings.HasSuffix(f[2], ":0000"))) {
			continue
		}
		if inode, err := strconv.ParseUint(f[9], 10, 64); err == nil && skip[inode] {
			continue
		}
		addr, port, err := parseHexAddr(f[1])
		if err != nil {
			return nil, err
		}
		if port == 0 {
			continue
		}
		out = append(out, &agentv1.ListeningPort{Proto: proto, Address: addr.String(), Port: uint32(port)})
	}
	return out, sc.Err()
}

// parseHexAddr reads the kernel's "0100007F:1F90" form: the address as
// 32-bit words in host (little-endian) order, the port big-endian.
func parseHexAddr(s string) (netip.Addr, uint16, error) {
	a, p, ok := strings.Cut(s, ":")
	port, err := strconv.ParseUint(p, 16, 16)
	if !ok || err != nil {
		return netip.Addr{}, 0, fmt.Errorf("bad socket address %q", s)
	}
	raw, err := hex.DecodeString(a)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.Addr{}, 0, fmt.Errorf("bad socket address %q", s)
	}
	for i := 0; i < len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	addr, _ := netip.AddrFromSlice(raw)
	return addr.Unmap(), uint16(port), nil
}

// ownSocketInodes returns the inodes of the sockets open in the fd dir of
// a process ("socket:[12345]" links).
func ownSocketInodes(fdDir string) map[uint64]bool {
	out := map[uint64]bool{}
	ents, err := os.ReadDir(fdDir)
	if err != nil {
		return out
	}
	for _, e := range ents {
		l, err := os.Readlink(filepath.Join(fdDir, e.Name()))
		if err != nil {
			continue
		}
		if s, ok := strings.CutPrefix(l, "socket:["); ok {
			if n, err := strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 64); err == nil {
				out[n] = true
			}
		}
	}
	return out
}
