package network

import (
	"net"
	"net/netip"
	"testing"

	"github.com/miekg/dns"
)

// TestDNSHandler runs the handler on 127.0.0.1 with a static table (no
// root needed) and an upstream that is the handler's own second instance.
func TestDNSHandler(t *testing.T) {
	upstream := serveTest(t, &dnsHandler{
		lookup:    func(name string) []netip.Addr { return table(name, "far", "10.9.9.9") },
		upstreams: func(netip.Addr) []string { return nil },
	})
	local := serveTest(t, &dnsHandler{
		lookup:    func(name string) []netip.Addr { return table(name, "near", "10.1.1.1") },
		upstreams: func(netip.Addr) []string { return []string{"127.0.0.1:1", upstream} },
	})
	tests := []struct {
		name  string
		msg   func() *dns.Msg
		rcode int
		a     string
	}{
		{"local", question("near.", dns.TypeA), dns.RcodeSuccess, "10.1.1.1"},
		{"forwarded past a dead upstream", question("far.", dns.TypeA), dns.RcodeSuccess, "10.9.9.9"},
		{"nowhere", question("nowhere.", dns.TypeA), dns.RcodeServerFailure, ""},
		{"two questions", func() *dns.Msg {
			m := question("near.", dns.TypeA)()
			m.Question = append(m.Question, m.Question[0])
			return m
		}, dns.RcodeFormatError, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := dns.Exchange(tc.msg(), local)
			if err != nil {
				t.Fatal(err)
			}
			var a string
			if len(resp.Answer) == 1 {
				a = resp.Answer[0].(*dns.A).A.String()
			}
			if resp.Rcode != tc.rcode || a != tc.a {
				t.Errorf("rcode %d answer %q, want %d %q", resp.Rcode, a, tc.rcode, tc.a)
			}
		})
	}
}

// TestDNSTruncation: 100 containers behind one alias do not fit a plain UDP
// answer: it comes truncated (TC set) and whole over TCP.
func TestDNSTruncation(t *testing.T) {
	local := serveTest(t, &dnsHandler{
		lookup: func(string) []netip.Addr {
			var many []netip.Addr
			for i := range 100 {
				many = append(many, netip.AddrFrom4([4]byte{10, 2, 0, byte(i + 1)}))
			}
			return many
		},
		upstreams: func(netip.Addr) []string { return nil },
	})
	udp, err := dns.Exchange(question("crowd.", dns.TypeA)(), local)
	if err != nil {
		t.Fatal(err)
	}
	if !udp.Truncated || len(udp.Answer) >= 100 {
		t.Errorf("udp: truncated=%v answers=%d, want a truncated answer", udp.Truncated, len(udp.Answer))
	}
	c := &dns.Client{Net: "tcp"}
	tcp, _, err := c.Exchange(question("crowd.", dns.TypeA)(), local)
	if err != nil {
		t.Fatal(err)
	}
	if len(tcp.Answer) != 100 {
		t.Errorf("tcp: %d answers, want 100", len(tcp.Answer))
	}
}

func table(name, want, addr string) []netip.Addr {
	if name == want {
		return []netip.Addr{netip.MustParseAddr(addr)}
	}
	return nil
}

func question(name string, qtype uint16) func() *dns.Msg {
	return func() *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		return m
	}
}

func serveTest(t *testing.T, h dns.Handler) string {
	t.Helper()
	pc, l := listenBoth(t)
	s := startDNS(h, pc, l)
	t.Cleanup(s.stop)
	return pc.LocalAddr().String()
}

// listenBoth opens UDP and TCP sockets on the same free loopback port.
func listenBoth(t *testing.T) (net.PacketConn, net.Listener) {
	t.Helper()
	for range 50 {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp4", pc.LocalAddr().String())
		if err == nil {
			return pc, l
		}
		pc.Close() // the TCP port is taken: try another
	}
	t.Fatal("no loopback port free for both UDP and TCP")
	return nil, nil
}
