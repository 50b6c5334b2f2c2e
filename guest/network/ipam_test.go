package network

import (
	"net/netip"
	"testing"

	"github.com/containerd/errdefs"
)

func TestPickSubnet(t *testing.T) {
	pools := DefaultAddressPools()
	tests := []struct {
		name string
		used []string
		want string
	}{
		{"empty host", nil, "172.17.0.0/16"},
		{"docker0 exists", []string{"172.17.0.0/16"}, "172.18.0.0/16"},
		{"narrow route", []string{"172.17.3.0/24", "172.18.0.0/15"}, "172.20.0.0/16"},
		{"wide route", []string{"172.16.0.0/12"}, "192.168.0.0/20"},
		{"default route ignored by caller", []string{"10.0.0.0/8"}, "172.17.0.0/16"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var used []netip.Prefix
			for _, u := range tc.used {
				used = append(used, netip.MustParsePrefix(u))
			}
			got, err := pickSubnet(pools, used)
			if err != nil || got.String() != tc.want {
				t.Fatalf("pickSubnet = %s, %v; want %s", got, err, tc.want)
			}
		})
	}
	if _, err := pickSubnet(pools, []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}); !errdefs.IsUnavailable(err) {
		t.Errorf("all pools used: %v", err)
	}
}

func TestAllocate(t *testing.T) {
	n := &Network{Name: "n", Subnet: netip.MustParsePrefix("10.9.0.0/29"), Gateway: netip.MustParseAddr("10.9.0.1"),
		Endpoints: map[string]*Endpoint{}}
	var got []string
	for i := 0; ; i++ {
		a, err := allocate(n, netip.Addr{}, nil)
		if err != nil {
			if !errdefs.IsUnavailable(err) {
				t.Fatalf("exhausted: %v", err)
			}
			break
		}
		got = append(got, a.String())
		n.Endpoints[a.String()] = &Endpoint{IP: netip.PrefixFrom(a, 29)}
	}
	// .0 network, .1 gateway, .7 broadcast: 2..6 are handed out.
	if want := "10.9.0.2 10.9.0.3 10.9.0.4 10.9.0.5 10.9.0.6"; join(got) != want {
		t.Errorf("allocated %s, want %s", join(got), want)
	}
	delete(n.Endpoints, "10.9.0.4")
	if a, _ := allocate(n, netip.Addr{}, nil); a.String() != "10.9.0.4" {
		t.Errorf("after release got %s, want 10.9.0.4", a)
	}
	busy := map[netip.Addr]bool{netip.MustParseAddr("10.9.0.4"): true}
	if _, err := allocate(n, netip.Addr{}, busy); !errdefs.IsUnavailable(err) {
		t.Errorf("address being released was handed out: %v", err)
	}
	for _, bad := range []string{"10.9.0.0", "10.9.0.7", "10.9.0.1", "10.9.1.2"} {
		if _, err := allocate(n, netip.MustParseAddr(bad), nil); !errdefs.IsInvalidArgument(err) {
			t.Errorf("allocate(%s) = %v, want invalid argument", bad, err)
		}
	}
	if _, err := allocate(n, netip.MustParseAddr("10.9.0.3"), nil); !errdefs.IsConflict(err) {
		t.Errorf("allocate(in use) = %v, want conflict", err)
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

func TestBroadcastAndMAC(t *testing.T) {
	tests := []struct{ prefix, want string }{
		{"172.17.0.0/16", "172.17.255.255"},
		{"10.0.0.0/29", "10.0.0.7"},
		{"10.0.0.0/12", "10.15.255.255"},
		{"192.168.1.4/30", "192.168.1.7"},
	}
	for _, tc := range tests {
		if got := broadcast(netip.MustParsePrefix(tc.prefix)); got.String() != tc.want {
			t.Errorf("broadcast(%s) = %s, want %s", tc.prefix, got, tc.want)
		}
	}
	if got := macFromIP(netip.MustParseAddr("172.17.0.2")).String(); got != "02:42:ac:11:00:02" {
		t.Errorf("mac = %s", got)
	}
	for _, bad := range []string{"x", "01:00:5e:00:00:01", "02:42:ac:11:00"} {
		if _, err := parseMAC(bad); !errdefs.IsInvalidArgument(err) {
			t.Errorf("parseMAC(%s) = %v", bad, err)
		}
	}
}
