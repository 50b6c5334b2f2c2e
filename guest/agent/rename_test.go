//go:build linux

package agent

import (
	"slices"
	"testing"

	ctypes "github.com/moby/moby/api/types/container"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// TestRenameUpdatesNetworkDNS: after docker rename, containers on the same
// user-defined network resolve the new name and no longer the old one.
func TestRenameUpdatesNetworkDNS(t *testing.T) {
	h, ctx := setup(t)
	if _, err := h.nets.Create(ctx, &agentv1.CreateNetworkRequest{Name: "rnA", Subnet: "10.252.6.0/24"}); err != nil {
		t.Fatal(err)
	}
	web := h.mustCreate(ctx, createOpts{name: "web", cfg: sh("sleep 1000"), hc: ctypes.HostConfig{NetworkMode: "rnA"}})
	h.start(ctx, web)
	if _, err := h.ctr.Rename(ctx, &agentv1.RenameRequest{Id: "web", Name: "site"}); err != nil {
		t.Fatalf("rename: %v", err)
	}
	tests := []struct {
		name   string
		lookup string
		ok     bool
	}{
		{"new name resolves", "site", true},
		{"old name is gone", "web", false},
		{"new name.network resolves", "site.rnA", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, _, code := h.run(ctx, createOpts{cfg: sh("nslookup " + tc.lookup), hc: ctypes.HostConfig{NetworkMode: "rnA"}})
			if (code == 0) != tc.ok {
				t.Errorf("nslookup %s: exit %d, want success %v; output %q", tc.lookup, code, tc.ok, out)
			}
		})
	}
	es := h.inspect(ctx, web).NetworkSettings.Networks["rnA"]
	if es == nil || !slices.Contains(es.DNSNames, "site") || slices.Contains(es.DNSNames, "web") {
		t.Errorf("DNSNames after rename: %+v", es)
	}
}
