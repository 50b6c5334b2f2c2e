package client

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"google.golang.org/protobuf/types/known/timestamppb"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

func pb(ip string, host, ctr uint32, proto string) *agentv1.PortBinding {
	return &agentv1.PortBinding{HostIp: ip, HostPort: host, ContainerPort: ctr, Proto: proto}
}

func TestDisplayPorts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ports []*agentv1.PortBinding
		want  string
	}{
		{"none", nil, ""},
		{"exposed only", []*agentv1.PortBinding{pb("", 0, 80, "tcp")}, "80/tcp"},
		{"published both families", []*agentv1.PortBinding{pb("::", 8080, 80, "tcp"), pb("127.0.0.1", 8080, 80, "tcp")}, "127.0.0.1:8080->80/tcp, :::8080->80/tcp"},
		{"same port", []*agentv1.PortBinding{pb("0.0.0.0", 80, 80, "tcp")}, "0.0.0.0:80->80/tcp"},
		{"exposed range collapsed", []*agentv1.PortBinding{pb("", 0, 8002, "tcp"), pb("", 0, 8000, "tcp"), pb("", 0, 8001, "tcp"), pb("", 0, 9000, "udp")}, "8000-8002/tcp, 9000/udp"},
		{"published range collapsed", []*agentv1.PortBinding{pb("0.0.0.0", 7000, 7000, "tcp"), pb("0.0.0.0", 7001, 7001, "tcp")}, "0.0.0.0:7000-7001->7000-7001/tcp"},
		{"gap splits", []*agentv1.PortBinding{pb("", 0, 1, "tcp"), pb("", 0, 2, "tcp"), pb("", 0, 4, "tcp")}, "1-2/tcp, 4/tcp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := displayPorts(tc.ports); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPsRow(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	ct := &agentv1.ContainerSummary{
		Id:      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		Names:   []string{"/web", "/other/link"},
		Image:   "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210",
		Command: "nginx -g 'daemon off;'",
		Created: timestamppb.New(now.Add(-3 * time.Minute)),
		Status:  "Up 3 minutes",
		State:   "running",
		SizeRw:  1200,
		Labels:  map[string]string{"b": "2", "a": "1"},
	}
	r := newPsRow(ct, true, now)
	want := psRow{
		ID: "0123456789ab", Image: "fedcba987654", Command: `"nginx -g 'daemon of…"`, RunningFor: "3 minutes ago",
		Status: "Up 3 minutes", State: "running", Names: "web", Size: "1.2kB", Labels: "a=1,b=2", LocalVolumes: "0",
	}
	got := r
	got.CreatedAt, got.labels = "", nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("row %+v\nwant %+v", got, want)
	}
	if r.Label("b") != "2" {
		t.Errorf("Label(b) = %q", r.Label("b"))
	}
	full := newPsRow(ct, false, now)
	if full.ID != ct.Id || full.Command != `"nginx -g 'daemon off;'"` || full.Names != "web,other/link" {
		t.Errorf("--no-trunc row %+v", full)
	}
}

func TestEllipsis(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 20, "short"},
		{"exactly twenty chars", 20, "exactly twenty chars"},
		{"twenty-one characters", 20, "twenty-one characte…"},
		{"héllo wörld", 5, "héll…"},
		{"x", 0, ""},
	} {
		if got := ellipsis(tc.in, tc.n); got != tc.want {
			t.Errorf("ellipsis(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestStatsRow(t *testing.T) {
	var s container.StatsResponse
	s.ID, s.Name = "0123456789abcdef0123", "/web"
	s.CPUStats.CPUUsage.TotalUsage, s.CPUStats.SystemUsage, s.CPUStats.OnlineCPUs = 300, 2000, 4
	s.MemoryStats.Usage, s.MemoryStats.Limit = 150<<20, 1<<30
	s.MemoryStats.Stats = map[string]uint64{"inactive_file": 50 << 20}
	s.Networks = map[string]container.NetworkStats{"eth0": {RxBytes: 1000, TxBytes: 2000}, "eth1": {RxBytes: 500}}
	s.BlkioStats.IoServiceBytesRecursive = []container.BlkioStatEntry{{Op: "Read", Value: 1 << 20}, {Op: "write", Value: 2 << 20}}
	s.PidsStats.Current = 7
	r := newStatsRow("web", &s, cpuSample{total: 100, system: 1000}, true)
	want := statsRow{
		Container: "web", ID: "0123456789ab", Name: "web", CPUPerc: "80.00%", MemUsage: "100MiB / 1GiB",
		MemPerc: "9.77%", NetIO: "1.5kB / 2kB", BlockIO: "1.05MB / 2.1MB", PIDs: "7",
	}
	if r != want {
		t.Errorf("row %+v\nwant %+v", r, want)
	}
	// The agent's own precpu_stats win over the previous sample.
	s.PreCPUStats.CPUUsage.TotalUsage, s.PreCPUStats.SystemUsage = 250, 1500
	if r := newStatsRow("web", &s, cpuSample{}, true); r.CPUPerc != "40.00%" {
		t.Errorf("CPU %s with precpu stats, want 40.00%%", r.CPUPerc)
	}
	// No elapsed system time: 0%, not a division by zero.
	if got := cpuPercent(cpuSample{total: 300, system: 2000}, &s); got != 0 {
		t.Errorf("cpu %v", got)
	}
}

func TestPortLines(t *testing.T) {
	ports := network.PortMap{
		network.MustParsePort("80/tcp"): {
			{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: "8080"},
			{HostIP: netip.MustParseAddr("::1"), HostPort: "8080"},
		},
		network.MustParsePort("53/udp"):  {{HostIP: netip.MustParseAddr("0.0.0.0"), HostPort: "5353"}},
		network.MustParsePort("443/tcp"): nil,
	}
	got, err := portLines(ports, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"53/udp -> 0.0.0.0:5353", "80/tcp -> 127.0.0.1:8080", "80/tcp -> [::1]:8080"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if got, err := portLines(ports, "80"); err != nil || !reflect.DeepEqual(got, []string{"127.0.0.1:8080", "[::1]:8080"}) {
		t.Errorf("port 80: %q, %v", got, err)
	}
	if _, err := portLines(ports, "443/tcp"); err == nil || err.Error() != "No public port '443/tcp' published" {
		t.Errorf("unpublished port: %v", err)
	}
	if _, err := portLines(ports, "x/tcp"); err == nil {
		t.Errorf("a bad port must be an error")
	}
}

func TestParseLogTime(t *testing.T) {
	loc := time.FixedZone("X", 2*3600)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, loc)
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"10m", now.Add(-10 * time.Minute)},
		{"1h30m", now.Add(-90 * time.Minute)},
		{"2026-11-23T10:00:00Z", time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)},
		{"2026-11-23T10:00:00+01:00", time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)},
		{"2026-11-23T10:00:00.5Z", time.Date(2026, 11, 23, 10, 0, 0, 5e8, time.UTC)},
		{"2026-11-23T10:00:00", time.Date(2026, 11, 23, 10, 0, 0, 0, loc)},
		{"2026-11-23T10:05", time.Date(2026, 11, 23, 10, 5, 0, 0, loc)},
		{"2026-11-23T10", time.Date(2026, 11, 23, 10, 0, 0, 0, loc)},
		{"2026-11-23", time.Date(2026, 11, 23, 0, 0, 0, 0, loc)},
		{"1700000000", time.Unix(1700000000, 0)},
		{"1700000000.25", time.Unix(1700000000, 250000000)},
		{"0", time.Unix(0, 0)},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseLogTime(tc.in, now)
			if err != nil || !got.Equal(tc.want) {
				t.Errorf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	for _, bad := range []string{"yesterday", "2026-13-45", "12x", "1.2.3"} {
		if _, err := parseLogTime(bad, now); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
