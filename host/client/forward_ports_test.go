package client

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"

	"github.com/berth-dev/berth/host/forward"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

func fwd(proto string, ip string, host, ctr uint16) forward.Forward {
	return forward.Forward{ContainerID: "c", Binding: forward.Binding{Proto: proto, HostIP: netip.MustParseAddr(ip), HostPort: host, ContainerPort: ctr}}
}

func TestForwardedSummaryPorts(t *testing.T) {
	agent := []*agentv1.PortBinding{
		{HostIp: "invalid IP", ContainerPort: 80, Proto: "tcp"}, // -p 80: requested, not real
		{HostIp: "127.0.0.1", HostPort: 0, ContainerPort: 443, Proto: "tcp"},
		{ContainerPort: 9000, Proto: "tcp"}, // exposed only
	}
	for _, tc := range []struct {
		name string
		fws  []forward.Forward
		want string
	}{
		{"running", []forward.Forward{fwd("tcp", "127.0.0.1", 32768, 80), fwd("tcp", "::1", 32768, 80), fwd("tcp", "127.0.0.1", 32769, 443)},
			"9000/tcp, 127.0.0.1:32768->80/tcp, ::1:32768->80/tcp, 127.0.0.1:32769->443/tcp"},
		{"stopped", nil, "80/tcp, 9000/tcp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := displayPorts(forwardedSummaryPorts(agent, tc.fws)); got != tc.want {
				t.Fatalf("ports = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestForwardedPortMap(t *testing.T) {
	p80 := network.MustParsePort("80/tcp")
	p53 := network.MustParsePort("53/udp")
	p9 := network.MustParsePort("9000/tcp")
	agent := network.PortMap{p80: {{HostPort: ""}}, p9: nil, p53: {{HostPort: "5353"}}}
	got := forwardedPortMap(agent, true, []forward.Forward{fwd("tcp", "127.0.0.1", 32768, 80), fwd("udp", "127.0.0.1", 5353, 53)})
	want := "map[53/udp:[{127.0.0.1 5353}] 80/tcp:[{127.0.0.1 32768}] 9000/tcp:[]]"
	if s := fmt.Sprint(got); s != want {
		t.Fatalf("running: %s, want %s", s, want)
	}
	if got := forwardedPortMap(agent, false, nil); len(got) != 0 {
		t.Fatalf("stopped: %v, want none", got)
	}
	lines, err := portLines(forwardedPortMap(agent, true, []forward.Forward{fwd("tcp", "127.0.0.1", 32768, 80)}), "80")
	if err != nil || len(lines) != 1 || lines[0] != "127.0.0.1:32768" {
		t.Fatalf("port 80: %v %v", lines, err)
	}
}

func TestPublishedBindings(t *testing.T) {
	p80 := network.MustParsePort("80/tcp")
	info := &container.InspectResponse{
		ID:         "abc",
		Config:     &container.Config{ExposedPorts: network.PortSet{p80: {}, network.MustParsePort("53/udp"): {}}},
		HostConfig: &container.HostConfig{PortBindings: network.PortMap{p80: {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: "8080"}}}, PublishAllPorts: true},
	}
	bs, err := publishedBindings(info)
	if err != nil || len(bs) != 2 {
		t.Fatalf("bindings %v %v", bs, err)
	}
	info.HostConfig.NetworkMode = "host"
	if bs, _ := publishedBindings(info); len(bs) != 0 {
		t.Fatalf("host network publishes %v", bs)
	}
}

func TestPortErrorIsDockers(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := uint16(l.Addr().(*net.TCPAddr).Port)
	perr := forward.Probe(t.Context(), []forward.Binding{{Proto: "tcp", HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: port, ContainerPort: 80}})
	err = portError(&container.InspectResponse{ID: "0123abcd", Name: "/web"}, perr)
	want := fmt.Sprintf("driver failed programming external connectivity on endpoint web (0123abcd): Bind for 127.0.0.1:%d failed: port is already allocated", port)
	var de *daemonError
	if !errors.As(err, &de) || err.Error() != want || !errdefs.IsConflict(err) {
		t.Fatalf("got %v (daemon error %v, conflict %v), want %q", err, de != nil, errdefs.IsConflict(err), want)
	}
}
