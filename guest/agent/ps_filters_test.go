//go:build linux

package agent

import (
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	ctypes "github.com/moby/moby/api/types/container"
	ntypes "github.com/moby/moby/api/types/network"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// TestPsFilters: docker's before/since windows (by name, id or prefix),
// exited, health, network and name filters, and --last counting only the
// containers that pass the filters.
func TestPsFilters(t *testing.T) {
	h, ctx := setup(t)
	if _, err := h.nets.Create(ctx, &agentv1.CreateNetworkRequest{Name: "psnet", Subnet: "10.252.5.0/24"}); err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, n := range []string{"pa", "pb", "pc", "pd"} {
		o := createOpts{name: n, cfg: sh("exit 3")}
		if n == "pc" {
			o.hc = ctypes.HostConfig{NetworkMode: "psnet"}
		}
		ids[n] = h.mustCreate(ctx, o)
	}
	ports := createOpts{name: "pf", cfg: ctypes.Config{Image: testImage, ExposedPorts: ntypes.PortSet{ntypes.MustParsePort("9000/udp"): {}}},
		hc: ctypes.HostConfig{PortBindings: ntypes.PortMap{ntypes.MustParsePort("80/tcp"): {{HostPort: "8080"}}}}}
	h.mustCreate(ctx, ports)
	if _, _, code := h.run(ctx, createOpts{name: "pe", cfg: sh("exit 3")}); code != 3 {
		t.Fatalf("pe exited %d, want 3", code)
	}
	nl, err := h.nets.List(ctx, &agentv1.ListNetworksRequest{Filters: []string{"name=psnet"}})
	if err != nil || len(nl.Networks) != 1 {
		t.Fatalf("list networks: %v %v", nl, err)
	}
	netID := nl.Networks[0].Id[:10]
	tests := []struct {
		name    string
		all     bool
		limit   int32
		filters []string
		want    string // names, newest first
		errKind func(error) bool
	}{
		{"before name", true, 0, []string{"before=pc"}, "pb,pa", nil},
		{"since name", true, 0, []string{"since=pc"}, "pe,pf,pd", nil},
		{"since and before", true, 0, []string{"since=pa", "before=pd"}, "pc,pb", nil},
		{"before by id prefix", true, 0, []string{"before=" + ids["pb"][:10]}, "pa", nil},
		{"since by full id", true, 0, []string{"since=" + ids["pd"]}, "pe,pf", nil},
		{"since without all shows running only", false, 0, []string{"since=pa"}, "", nil},
		{"before unknown", true, 0, []string{"before=nosuch"}, "", errdefs.IsNotFound},
		{"exited", true, 0, []string{"exited=3"}, "pe", nil},
		{"exited needs all", false, 0, []string{"exited=3"}, "", nil},
		{"exited not a number", true, 0, []string{"exited=x"}, "", errdefs.IsInvalidArgument},
		{"health none", true, 0, []string{"health=none", "since=pc"}, "pe,pf,pd", nil},
		{"publish", true, 0, []string{"publish=8080"}, "pf", nil},
		{"publish range", true, 0, []string{"publish=8000-8100/tcp"}, "pf", nil},
		{"publish other proto", true, 0, []string{"publish=8080/udp"}, "", nil},
		{"publish container port", true, 0, []string{"publish=80"}, "", nil},
		{"expose published", true, 0, []string{"expose=80"}, "pf", nil},
		{"expose udp", true, 0, []string{"expose=9000/udp"}, "pf", nil},
		{"expose tcp by default", true, 0, []string{"expose=9000"}, "", nil},
		{"publish with colon", true, 0, []string{"publish=8080:80"}, "", errdefs.IsInvalidArgument},
		{"publish not a port", true, 0, []string{"publish=http"}, "", errdefs.IsInvalidArgument},
		{"health healthy", true, 0, []string{"health=healthy"}, "", nil},
		{"health bogus", true, 0, []string{"health=fine"}, "", errdefs.IsInvalidArgument},
		{"network by name", true, 0, []string{"network=psnet"}, "pc", nil},
		{"network by id prefix", true, 0, []string{"network=" + netID}, "pc", nil},
		{"name regexp", true, 0, []string{"name=^p[ab]$"}, "pb,pa", nil},
		{"id prefix", true, 0, []string{"id=" + ids["pd"][:12]}, "pd", nil},
		{"last counts matches", false, 2, []string{"name=^p[abc]$"}, "pc,pb", nil},
		{"unknown key", true, 0, []string{"colour=red"}, "", errdefs.IsInvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := h.ctr.List(ctx, &agentv1.ListContainersRequest{All: tc.all, Limit: tc.limit, Filters: tc.filters})
			if tc.errKind != nil {
				if err == nil || !tc.errKind(errgrpc.ToNative(err)) {
					t.Fatalf("List %v: got %v, want an error of the right kind", tc.filters, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("List %v: %v", tc.filters, err)
			}
			var names []string
			for _, c := range resp.Containers {
				names = append(names, strings.TrimPrefix(c.Names[0], "/"))
			}
			if got := strings.Join(names, ","); got != tc.want {
				t.Errorf("List %v = %q, want %q", tc.filters, got, tc.want)
			}
		})
	}
}
