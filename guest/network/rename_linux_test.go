package network

import (
	"context"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// TestRenameUpdatesDNS: after Rename the embedded DNS of every network the
// container is on answers for the new name (also after a restart of the
// Manager: the name is stored) and no longer for the old one.
func TestRenameUpdatesDNS(t *testing.T) {
	e := newTestEnv(t)
	e.opts.Upstreams = []string{fakeUpstream(t)}
	m := e.open(t)
	ctx := context.Background()
	mustCreate(t, m, CreateOptions{Name: "rena", Subnet: "10.251.33.0/24"})
	mustCreate(t, m, CreateOptions{Name: "renb", Subnet: "10.251.34.0/24"})
	web, client := newNS(t), newNS(t)
	mustAttach(t, m, "rena", containerID(1), web, AttachOptions{Name: "web", Aliases: []string{"www"}})
	mustAttach(t, m, "renb", containerID(1), web, AttachOptions{Name: "web"})
	mustAttach(t, m, "rena", containerID(2), client, AttachOptions{Name: "client"})
	if err := m.Rename(ctx, containerID(1), "site"); err != nil {
		t.Fatalf("Rename: %v", err)
	}
	if err := m.Rename(ctx, containerID(9), "nobody"); err != nil {
		t.Errorf("Rename of a container on no network: %v", err)
	}
	check := func(t *testing.T) {
		tests := []struct {
			name, server, q string
			qtype           uint16
			rcode           int
			want            string
		}{
			{"new name", "10.251.33.1:53", "site", dns.TypeA, dns.RcodeSuccess, "10.251.33.2"},
			{"new name.network", "10.251.33.1:53", "site.rena", dns.TypeA, dns.RcodeSuccess, "10.251.33.2"},
			{"old name gone", "10.251.33.1:53", "web", dns.TypeA, dns.RcodeNameError, ""},
			{"alias kept", "10.251.33.1:53", "www", dns.TypeA, dns.RcodeSuccess, "10.251.33.2"},
			{"reverse", "10.251.33.1:53", "2.33.251.10.in-addr.arpa", dns.TypePTR, dns.RcodeSuccess, "site.rena."},
			{"second network", "10.251.34.1:53", "site", dns.TypeA, dns.RcodeSuccess, "10.251.34.2"},
			{"second network old name", "10.251.34.1:53", "web", dns.TypeA, dns.RcodeNameError, ""},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				ns := client
				if strings.HasPrefix(tc.server, "10.251.34.") {
					ns = web // client is not on renb
				}
				got := query(t, ns, tc.server, "udp", tc.q, tc.qtype)
				if got.rcode != tc.rcode || strings.Join(got.answers, ",") != tc.want {
					t.Errorf("%s = rcode %d %v, want rcode %d %q", tc.q, got.rcode, got.answers, tc.rcode, tc.want)
				}
			})
		}
	}
	t.Run("renamed", check)
	m.Close()
	m = e.open(t)
	t.Run("after restart", check)
}
