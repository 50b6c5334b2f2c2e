package network

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// fakeUpstream serves on 127.0.0.1 (the agent process's own namespace, where
// forwarding happens): "upstream.test" is 10.251.99.9, every other name is
// NXDOMAIN.
func fakeUpstream(t *testing.T) string {
	t.Helper()
	h := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		if r.Question[0].Name == "upstream.test." && r.Question[0].Qtype == dns.TypeA {
			rr, _ := dns.NewRR("upstream.test. 60 IN A 10.251.99.9")
			m.Answer = append(m.Answer, rr)
		} else {
			m.Rcode = dns.RcodeNameError
		}
		_ = w.WriteMsg(m)
	})
	pc, l := listenBoth(t)
	srv := startDNS(h, pc, l)
	t.Cleanup(srv.stop)
	return pc.LocalAddr().String()
}

type dnsResult struct {
	rcode   int
	answers []string
}

// query asks server from inside the namespace ns.
func query(t *testing.T, ns, server, proto, name string, qtype uint16) dnsResult {
	t.Helper()
	var resp *dns.Msg
	err := runIn(t, ns, func() (err error) {
		c := &dns.Client{Net: proto, Timeout: 3 * time.Second}
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(name), qtype)
		resp, _, err = c.Exchange(m, server)
		return err
	})
	if err != nil {
		t.Fatalf("query %s for %s: %v", server, name, err)
	}
	res := dnsResult{rcode: resp.Rcode}
	for _, rr := range resp.Answer {
		switch rr := rr.(type) {
		case *dns.A:
			res.answers = append(res.answers, rr.A.String())
		case *dns.PTR:
			res.answers = append(res.answers, rr.Ptr)
		}
	}
	return res
}

func TestEmbeddedDNS(t *testing.T) {
	e := newTestEnv(t)
	e.opts.Upstreams = []string{fakeUpstream(t)}
	m := e.open(t)
	mustCreate(t, m, CreateOptions{Name: "dnsa", Subnet: "10.251.30.0/24"})
	mustCreate(t, m, CreateOptions{Name: "dnsb", Subnet: "10.251.31.0/24"})
	web, client, other := newNS(t), newNS(t), newNS(t)
	mustAttach(t, m, "dnsa", containerID(1), web, AttachOptions{Name: "web", Aliases: []string{"www", "Front.Alias", "shared"}})
	mustAttach(t, m, "dnsa", containerID(2), client, AttachOptions{Name: "client", Aliases: []string{"shared"}})
	mustAttach(t, m, "dnsb", containerID(3), other, AttachOptions{Name: "other"})
	const gw = "10.251.30.1:53"
	tests := []struct {
		name, proto, q string
		qtype          uint16
		rcode          int
		want           string
	}{
		{"container name", "udp", "web", dns.TypeA, dns.RcodeSuccess, "10.251.30.2"},
		{"name over tcp", "tcp", "web", dns.TypeA, dns.RcodeSuccess, "10.251.30.2"},
		{"alias", "udp", "www", dns.TypeA, dns.RcodeSuccess, "10.251.30.2"},
		{"alias any case", "udp", "front.ALIAS", dns.TypeA, dns.RcodeSuccess, "10.251.30.2"},
		{"short id", "udp", containerID(1)[:12], dns.TypeA, dns.RcodeSuccess, "10.251.30.2"},
		{"peer", "udp", "client", dns.TypeA, dns.RcodeSuccess, "10.251.30.3"},
		{"name.network", "udp", "web.dnsa", dns.TypeA, dns.RcodeSuccess, "10.251.30.2"},
		{"shared alias", "udp", "shared", dns.TypeA, dns.RcodeSuccess, "10.251.30.2,10.251.30.3"},
		{"reverse", "udp", "2.30.251.10.in-addr.arpa", dns.TypePTR, dns.RcodeSuccess, "web.dnsa."},
		{"reverse of unknown", "udp", "9.30.251.10.in-addr.arpa", dns.TypePTR, dns.RcodeNameError, ""},
		{"AAAA is empty", "udp", "web", dns.TypeAAAA, dns.RcodeSuccess, ""},
		{"other network", "udp", "other", dns.TypeA, dns.RcodeNameError, ""},
		{"forwarded", "udp", "upstream.test", dns.TypeA, dns.RcodeSuccess, "10.251.99.9"},
		{"forwarded over tcp", "tcp", "upstream.test", dns.TypeA, dns.RcodeSuccess, "10.251.99.9"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := query(t, client, gw, tc.proto, tc.q, tc.qtype)
			if got.rcode != tc.rcode || strings.Join(got.answers, ",") != tc.want {
				t.Errorf("%s %s = rcode %d %v, want rcode %d %q", tc.q, dns.TypeToString[tc.qtype], got.rcode, got.answers, tc.rcode, tc.want)
			}
		})
	}
	if got := query(t, other, "10.251.31.1:53", "udp", "other", dns.TypeA); strings.Join(got.answers, ",") != "10.251.31.2" {
		t.Errorf("other network's own DNS: %+v", got)
	}
}

func TestEmbeddedDNSNoUpstream(t *testing.T) {
	e := newTestEnv(t) // upstream 127.0.0.1:1: nothing listens
	m := e.open(t)
	mustCreate(t, m, CreateOptions{Name: "lonely", Subnet: "10.251.32.0/24"})
	c := newNS(t)
	mustAttach(t, m, "lonely", containerID(1), c, AttachOptions{Name: "me"})
	if got := query(t, c, "10.251.32.1:53", "udp", "elsewhere.test", dns.TypeA); got.rcode != dns.RcodeServerFailure {
		t.Errorf("rcode %d, want SERVFAIL", got.rcode)
	}
	if got := query(t, c, "10.251.32.1:53", "udp", "me", dns.TypeA); strings.Join(got.answers, ",") != "10.251.32.2" {
		t.Errorf("own name: %+v", got)
	}
}

func TestDNSStopsOnRemoveAndRestarts(t *testing.T) {
	e := newTestEnv(t)
	m := e.open(t)
	mustCreate(t, m, CreateOptions{Name: "again", Subnet: "10.251.33.0/24"})
	c := newNS(t)
	mustAttach(t, m, "again", containerID(1), c, AttachOptions{Name: "me"})
	peer := newNS(t)
	mustAttach(t, m, "again", containerID(2), peer, AttachOptions{Name: "peer"})
	m.Close()
	m = e.open(t)
	if got := query(t, c, "10.251.33.1:53", "tcp", "me", dns.TypeA); strings.Join(got.answers, ",") != "10.251.33.2" {
		t.Errorf("after reopen: %+v", got)
	}
	ctx := context.Background()
	if err := m.Detach(ctx, "again", containerID(1)); err != nil {
		t.Fatal(err)
	}
	if got := query(t, peer, "10.251.33.1:53", "udp", "me", dns.TypeA); got.rcode == dns.RcodeSuccess {
		t.Errorf("detached container still resolves: %+v", got)
	}
	if err := m.Detach(ctx, "again", containerID(2)); err != nil {
		t.Fatal(err)
	}
	if err := m.Remove(ctx, "again"); err != nil {
		t.Fatal(err)
	}
	// The old server's sockets must be closed for the new one to bind.
	mustCreate(t, m, CreateOptions{Name: "again", Subnet: "10.251.33.0/24"})
}

func TestManagerResolvConf(t *testing.T) {
	e := newTestEnv(t) // host resolv.conf: nameserver 127.0.0.53, search example.test
	m := e.open(t)
	mustCreate(t, m, CreateOptions{Name: "rc", Subnet: "10.251.34.0/24"})
	tests := []struct{ network, want string }{
		{"rc", "# Generated by berth.\nnameserver 10.251.34.1\nsearch example.test\noptions ndots:0\n"},
		{NameBridge, "# Generated by berth.\nnameserver 8.8.8.8\nnameserver 8.8.4.4\nsearch example.test\n"},
		{NameHost, "nameserver 127.0.0.53\nsearch example.test\n"},
	}
	for _, tc := range tests {
		t.Run(tc.network, func(t *testing.T) {
			got, err := m.ResolvConf(tc.network)
			if err != nil || string(got) != tc.want {
				t.Errorf("ResolvConf(%s) = %q, %v; want %q", tc.network, got, err, tc.want)
			}
		})
	}
	if _, err := m.ResolvConf("nosuch"); err == nil {
		t.Error("ResolvConf of a missing network succeeded")
	}
}

func TestEmbeddedDNSPerContainerResolvers(t *testing.T) {
	e := newTestEnv(t) // Manager upstream: 127.0.0.1:1, dead
	up := fakeUpstream(t)
	m := e.open(t)
	mustCreate(t, m, CreateOptions{Name: "own", Subnet: "10.251.35.0/24"})
	plain, custom := newNS(t), newNS(t)
	mustAttach(t, m, "own", containerID(1), plain, AttachOptions{Name: "plain"})
	mustAttach(t, m, "own", containerID(2), custom, AttachOptions{Name: "custom", DNS: []string{up}})
	if got := query(t, custom, "10.251.35.1:53", "udp", "upstream.test", dns.TypeA); strings.Join(got.answers, ",") != "10.251.99.9" {
		t.Errorf("container with its own resolver: %+v", got)
	}
	if got := query(t, plain, "10.251.35.1:53", "udp", "upstream.test", dns.TypeA); got.rcode != dns.RcodeServerFailure {
		t.Errorf("container without: %+v, want SERVFAIL from the dead default upstream", got)
	}
	if got := query(t, custom, "10.251.35.1:53", "udp", "plain", dns.TypeA); strings.Join(got.answers, ",") != "10.251.35.2" {
		t.Errorf("container names still resolve locally: %+v", got)
	}
	_, err := m.Attach(context.Background(), "own", containerID(3), newNS(t), AttachOptions{DNS: []string{"dns.example"}})
	if err == nil || !strings.Contains(err.Error(), "invalid DNS server") {
		t.Errorf("Attach with a bad DNS server = %v", err)
	}
}
