//go:build linux

package agent

import (
	"encoding/json"
	"strings"
	"testing"

	ctypes "github.com/moby/moby/api/types/container"
	ntypes "github.com/moby/moby/api/types/network"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

func TestUserNetworkDNS(t *testing.T) {
	h, ctx := setup(t)
	for _, n := range []struct{ name, subnet string }{{"tnA", "10.252.1.0/24"}, {"tnB", "10.252.2.0/24"}} {
		if _, err := h.nets.Create(ctx, &agentv1.CreateNetworkRequest{Name: n.name, Subnet: n.subnet}); err != nil {
			t.Fatalf("create network %s: %v", n.name, err)
		}
	}
	web := h.mustCreate(ctx, createOpts{name: "web", cfg: ctypes.Config{Image: testImage, Cmd: []string{"httpd", "-f", "-p", "80", "-h", "/www"}},
		hc: ctypes.HostConfig{NetworkMode: "tnA"}})
	h.start(ctx, web)
	// Debian's busybox-static wget crashes (static glibc), so resolve the
	// name with busybox's own nslookup (through the network's DNS server)
	// and speak HTTP with nc; print only the body.
	fetch := `for i in $(seq 1 100); do
		ip=$(nslookup web 2>/dev/null | awk '/^Name:/{n=1} n && /^Address/{print $2; exit}')
		if [ -n "$ip" ]; then
			body=$(printf 'GET /index.html HTTP/1.0\r\n\r\n' | nc -w 2 "$ip" 80 | awk 'b{print} /^\r?$/{b=1}')
			[ -n "$body" ] && echo "$body" && exit 0
		fi
		sleep 0.1
	done; exit 1`
	out, errOut, code := h.run(ctx, createOpts{cfg: sh(fetch), hc: ctypes.HostConfig{NetworkMode: "tnA"}})
	if code != 0 || out != "hello from web\n" {
		t.Fatalf("client on tnA: code %d out %q err %q", code, out, errOut)
	}
	_, _, code = h.run(ctx, createOpts{cfg: sh("nslookup web"), hc: ctypes.HostConfig{NetworkMode: "tnB"}})
	if code == 0 {
		t.Errorf("a container on tnB reached web on tnA")
	}

	resp, err := h.nets.Inspect(ctx, &agentv1.InspectNetworkRequest{Id: "tnA"})
	if err != nil {
		t.Fatal(err)
	}
	var doc ntypes.Inspect
	if err := json.Unmarshal(resp.Json, &doc); err != nil {
		t.Fatal(err)
	}
	ep, ok := doc.Containers[web]
	if !ok || ep.Name != "web" || !strings.HasPrefix(ep.IPv4Address.String(), "10.252.1.") || len(doc.IPAM.Config) != 1 || doc.IPAM.Config[0].Subnet.String() != "10.252.1.0/24" {
		t.Errorf("network inspect: %+v", doc)
	}
	settings := h.inspect(ctx, web).NetworkSettings.Networks["tnA"]
	if settings == nil || settings.IPAddress != ep.IPv4Address.Addr() || settings.IPPrefixLen != 24 || settings.Gateway.String() != "10.252.1.1" {
		t.Errorf("container inspect networks: %+v", settings)
	}

	// Connect the web server to tnB: now a tnB container reaches it.
	if _, err := h.nets.Connect(ctx, &agentv1.ConnectNetworkRequest{Network: "tnB", Container: "web"}); err != nil {
		t.Fatalf("connect: %v", err)
	}
	_, _, code = h.run(ctx, createOpts{cfg: sh(fetch), hc: ctypes.HostConfig{NetworkMode: "tnB"}})
	if code != 0 {
		t.Errorf("after connect, tnB client exit %d", code)
	}
	if _, err := h.nets.Disconnect(ctx, &agentv1.DisconnectNetworkRequest{Network: "tnB", Container: "web"}); err != nil {
		t.Fatalf("disconnect: %v", err)
	}
	if _, err := h.nets.Remove(ctx, &agentv1.RemoveNetworkRequest{Id: "tnA"}); err == nil {
		t.Errorf("removed a network with an active endpoint")
	}
}
