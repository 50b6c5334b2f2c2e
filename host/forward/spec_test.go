package forward

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/docker/go-connections/nat"
	"github.com/moby/moby/api/types/network"
)

func b(proto, ip string, hp, hpEnd, cp uint16) Binding {
	x := Binding{Proto: proto, HostPort: hp, HostPortEnd: hpEnd, ContainerPort: cp}
	if ip != "" {
		x.HostIP = netip.MustParseAddr(ip)
	}
	return x
}

func TestParsePortSpec(t *testing.T) {
	tests := []struct {
		spec string
		want []Binding
	}{
		{"80", []Binding{b("tcp", "", 0, 0, 80)}},
		{"8080:80", []Binding{b("tcp", "", 8080, 0, 80)}},
		{"127.0.0.1:8080:80", []Binding{b("tcp", "127.0.0.1", 8080, 0, 80)}},
		{"[::1]:8080:80", []Binding{b("tcp", "::1", 8080, 0, 80)}},
		{"0.0.0.0:8080:80", []Binding{b("tcp", "0.0.0.0", 8080, 0, 80)}},
		{"[::]:8080:80", []Binding{b("tcp", "::", 8080, 0, 80)}},
		{":80", []Binding{b("tcp", "", 0, 0, 80)}},
		{"127.0.0.1::80", []Binding{b("tcp", "127.0.0.1", 0, 0, 80)}},
		{"8080:80/udp", []Binding{b("udp", "", 8080, 0, 80)}},
		{"8080:80/tcp", []Binding{b("tcp", "", 8080, 0, 80)}},
		{"8080:80/UDP", []Binding{b("udp", "", 8080, 0, 80)}},
		{"53/udp", []Binding{b("udp", "", 0, 0, 53)}},
		{"8000-8002:9000-9002", []Binding{b("tcp", "", 8000, 0, 9000), b("tcp", "", 8001, 0, 9001), b("tcp", "", 8002, 0, 9002)}},
		{"8000-8010:80", []Binding{b("tcp", "", 8000, 8010, 80)}},
		{"127.0.0.1:8000-8001:80-81/udp", []Binding{b("udp", "127.0.0.1", 8000, 0, 80), b("udp", "127.0.0.1", 8001, 0, 81)}},
		{"80-81", []Binding{b("tcp", "", 0, 0, 80), b("tcp", "", 0, 0, 81)}},
		{"[::ffff:127.0.0.1]:8080:80", []Binding{b("tcp", "127.0.0.1", 8080, 0, 80)}},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := ParsePortSpec(tt.spec)
			if err != nil {
				t.Fatalf("ParsePortSpec(%q): %v", tt.spec, err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("ParsePortSpec(%q) = %v, want %v", tt.spec, got, tt.want)
			}
		})
	}
}

func TestParsePortSpecErrors(t *testing.T) {
	tests := []struct {
		spec, want string
	}{
		{"x", "invalid containerPort: x"},
		{"8080:x", "invalid containerPort: x"},
		{"y:80", "invalid hostPort: y"},
		{"8080:80/sctp", "invalid proto: sctp"},
		{"8080:80/icmp", "invalid proto: icmp"},
		{"1.2.3:8080:80", "invalid IP address: 1.2.3"},
		{"[::1:8080:80", "invalid IP address"},
		{"0", "invalid containerPort: 0"},
		{"70000", "invalid containerPort: 70000"},
		{"8080:70000", "invalid containerPort: 70000"},
		{"70000:80", "invalid hostPort: 70000"},
		{"8000-8001:80-82", "invalid ranges specified"},
		{"9000-8000:80", "invalid hostPort: 9000-8000"},
		{"", "no container port given"},
		{"8080:", "no container port given"},
		{"a:b:c:d", "invalid IP address"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			_, err := ParsePortSpec(tt.spec)
			if err == nil {
				t.Fatalf("ParsePortSpec(%q) succeeded, want error %q", tt.spec, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParsePortSpec(%q) error %q, want it to contain %q", tt.spec, err, tt.want)
			}
			if !errdefs.IsInvalidArgument(err) {
				t.Fatalf("ParsePortSpec(%q) error %v is not InvalidArgument", tt.spec, err)
			}
		})
	}
}

func TestBindingString(t *testing.T) {
	tests := []struct {
		b    Binding
		want string
	}{
		{b("tcp", "127.0.0.1", 8080, 0, 80), "127.0.0.1:8080->80/tcp"},
		{b("udp", "::1", 53, 0, 53), "[::1]:53->53/udp"},
		{b("tcp", "", 8000, 8010, 80), "8000-8010->80/tcp"},
		{b("tcp", "", 0, 0, 80), "80/tcp"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.b.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPublishAll(t *testing.T) {
	bound := []Binding{b("tcp", "", 8080, 0, 80)}
	got, err := PublishAll([]string{"80/tcp", "443", "53/udp", "9000-9001/tcp"}, bound)
	if err != nil {
		t.Fatal(err)
	}
	want := []Binding{
		b("tcp", "", 8080, 0, 80),
		b("tcp", "", 0, 0, 443), b("tcp", "", 0, 0, 9000), b("tcp", "", 0, 0, 9001),
		b("udp", "", 0, 0, 53),
	}
	if !slices.Equal(got, want) {
		t.Fatalf("PublishAll = %v, want %v", got, want)
	}
	if _, err := PublishAll([]string{"/tcp"}, nil); err == nil {
		t.Fatal("PublishAll accepted an exposed port without a number")
	}
}

func TestPortMapRoundTrip(t *testing.T) {
	in, err := ParsePortSpecs([]string{"127.0.0.1:8080:80", "[::1]:8080:80", "8000-8010:81", "53:53/udp", "90"})
	if err != nil {
		t.Fatal(err)
	}
	m := PortMap(in)
	p80 := network.MustParsePort("80/tcp")
	if len(m[p80]) != 2 || m[p80][0].HostPort != "8080" {
		t.Fatalf("PortMap[80/tcp] = %v", m[p80])
	}
	if got := m[network.MustParsePort("81/tcp")][0].HostPort; got != "8000-8010" {
		t.Fatalf("PortMap[81/tcp].HostPort = %q, want 8000-8010", got)
	}
	if got := m[network.MustParsePort("90/tcp")][0]; got.HostPort != "" || got.HostIP.IsValid() {
		t.Fatalf("PortMap[90/tcp] = %+v, want an unset binding", got)
	}
	back, err := FromPortMap(m)
	if err != nil {
		t.Fatal(err)
	}
	sortBindings(in)
	if !slices.Equal(back, in) {
		t.Fatalf("FromPortMap(PortMap(x)) = %v, want %v", back, in)
	}
	nm := NatPortMap(in)
	if got := nm[nat.Port("53/udp")]; len(got) != 1 || got[0].HostPort != "53" || got[0].HostIP != "" {
		t.Fatalf("NatPortMap[53/udp] = %v", got)
	}
}

func TestStreamID(t *testing.T) {
	id := StreamID(UDP, "abc123", 5353)
	if id != "udp/abc123/5353" {
		t.Fatalf("StreamID = %q", id)
	}
	proto, ctr, port, err := ParseStreamID(id)
	if err != nil || proto != UDP || ctr != "abc123" || port != 5353 {
		t.Fatalf("ParseStreamID(%q) = %q %q %d %v", id, proto, ctr, port, err)
	}
	for _, bad := range []string{"", "tcp", "tcp/x", "sctp/x/1", "tcp//80", "tcp/x/0", "tcp/x/080", "tcp/x/70000", "tcp/x/+80", "tcp/a/b/80"} {
		t.Run(bad, func(t *testing.T) {
			if _, _, _, err := ParseStreamID(bad); err == nil {
				t.Fatalf("ParseStreamID(%q) succeeded", bad)
			}
		})
	}
}

// FuzzParsePortSpec checks that parsing never panics and that what it
// accepts is forwardable and survives the PortMap round trip.
func FuzzParsePortSpec(f *testing.F) {
	for _, s := range []string{"80", "8080:80", "127.0.0.1:8080:80", "[::1]:8080:80", ":80", "8080:80/udp",
		"8000-8010:8000-8010", "8000-8010:80", "0.0.0.0::80/tcp", "a:b:c", "[::1:80", "65535:65535"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		bs, err := ParsePortSpec(spec)
		if err != nil {
			if !errdefs.IsInvalidArgument(err) {
				t.Fatalf("ParsePortSpec(%q) error %v is not InvalidArgument", spec, err)
			}
			return
		}
		for _, x := range bs {
			if x.ContainerPort == 0 || (x.Proto != TCP && x.Proto != UDP) {
				t.Fatalf("ParsePortSpec(%q) gave unforwardable %+v", spec, x)
			}
			if x.HostPortEnd != 0 && x.HostPortEnd <= x.HostPort {
				t.Fatalf("ParsePortSpec(%q) gave bad range %+v", spec, x)
			}
		}
		back, err := FromPortMap(PortMap(bs))
		if err != nil {
			t.Fatalf("FromPortMap(PortMap(%v)): %v", bs, err)
		}
		want := slices.Clone(bs)
		sortBindings(want)
		want = slices.Compact(want)
		if !slices.Equal(slices.Compact(back), want) {
			t.Fatalf("round trip of %q: %v, want %v", spec, back, want)
		}
	})
}

func TestContainerBindings(t *testing.T) {
	exposed := network.PortSet{network.MustParsePort("80/tcp"): {}, network.MustParsePort("53/udp"): {}}
	bound := network.PortMap{network.MustParsePort("80/tcp"): {{HostPort: "8080"}}}
	got, err := ContainerBindings(exposed, bound, false)
	if err != nil || !slices.Equal(got, []Binding{b("tcp", "", 8080, 0, 80)}) {
		t.Fatalf("ContainerBindings without -P = %v, %v", got, err)
	}
	got, err = ContainerBindings(exposed, bound, true)
	want := []Binding{b("tcp", "", 8080, 0, 80), b("udp", "", 0, 0, 53)}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("ContainerBindings with -P = %v, %v; want %v", got, err, want)
	}
	fws := []Forward{{ContainerID: "c", Binding: b("tcp", "127.0.0.1", 32768, 0, 80)}}
	pm := ForwardsPortMap(fws)
	if got := pm[network.MustParsePort("80/tcp")]; len(got) != 1 || got[0].HostPort != "32768" || got[0].HostIP.String() != "127.0.0.1" {
		t.Fatalf("ForwardsPortMap = %v", pm)
	}
}
