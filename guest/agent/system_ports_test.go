//go:build linux

package agent

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const tcpTable = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1059 1 0 100 0 0 10 0
   1: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2000 1 0 100 0 0 10 0
   2: 020200C0:B0A4 507100CB:01BB 06 00000000:00000000 03:0000046B 00000000     0        0 0 3 0
   3: 0100007F:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0 100 0 0 10 0
`

const tcp6Table = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3000 1 0
   1: 00000000000000000000000000000000:07E8 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3001 1 0
`

const udpTable = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  100: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 5000 2 0 0
  101: 0100007F:9C40 0200007F:0035 01 00000000:00000000 00:00000000 00000000     0        0 5001 2 0 0
`

func TestListeningPorts(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"tcp": tcpTable, "tcp6": tcp6Table, "udp": udpTable} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := listeningPorts(dir, map[uint64]bool{4242: true})
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, p := range got {
		s = append(s, p.Proto+" "+net.JoinHostPort(p.Address, itoa(p.Port)))
	}
	want := "tcp [::1]:80, tcp 0.0.0.0:2024, tcp [::]:2024, tcp 127.0.0.1:8080, udp 0.0.0.0:53"
	if strings.Join(s, ", ") != want {
		t.Fatalf("ports:\n got %s\nwant %s", strings.Join(s, ", "), want)
	}
}

func itoa(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

func TestParseHexAddr(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		bad      bool
	}{
		{in: "0100007F:1F90", want: "127.0.0.1:8080"},
		{in: "00000000000000000000000001000000:0050", want: "[::1]:80"},
		{in: "0000000000000000FFFF00000100007F:0050", want: "127.0.0.1:80"},
		{in: "zz:0050", bad: true},
		{in: "0100007F", bad: true},
		{in: "01007F:0050", bad: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			a, p, err := parseHexAddr(tc.in)
			if tc.bad {
				if err == nil {
					t.Fatalf("got %s:%d, want an error", a, p)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := net.JoinHostPort(a.String(), itoa(uint32(p))); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestOwnSocketInodes(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	own := ownSocketInodes("/proc/self/fd")
	ports, err := listeningPorts("/proc/net", own)
	if err != nil {
		t.Fatal(err)
	}
	mine := uint32(l.Addr().(*net.TCPAddr).Port)
	for _, p := range ports {
		if p.Proto == "tcp" && p.Port == mine {
			t.Fatalf("the test's own listener %d is listed: %v", mine, p)
		}
	}
	if len(own) == 0 {
		t.Fatal("no socket inodes found for this process")
	}
}
