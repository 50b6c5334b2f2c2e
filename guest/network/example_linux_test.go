package network_test

import (
	"context"
	"fmt"
	"net/netip"

	bolt "go.etcd.io/bbolt"

	"github.com/berth-dev/berth/guest/network"
)

// A container's life on a user-defined network, as the container runtime
// drives it (compiled, not run: it needs root).
func Example() {
	ctx := context.Background()
	db, err := bolt.Open("/var/lib/berth/metadata.db", 0o600, nil)
	if err != nil {
		panic(err)
	}
	m, err := network.New(ctx, network.Options{DB: db})
	if err != nil {
		panic(err)
	}
	defer m.Close() // stops DNS only: running containers keep their network

	if _, err := m.Create(ctx, network.CreateOptions{Name: "app"}); err != nil {
		panic(err)
	}
	// The runtime made the container's namespace (here bind-mounted).
	id := "4f1c…64 hex digits"
	ep, err := m.Attach(ctx, "app", id, "/run/berth/netns/"+id, network.AttachOptions{
		Name: "web", Aliases: []string{"www"},
	})
	if err != nil {
		panic(err)
	}
	resolv, _ := m.ResolvConf("app") // nameserver <gateway>: the embedded DNS
	hosts := network.HostsFile(id[:12], []netip.Addr{ep.IP.Addr()}, nil)
	fmt.Printf("%s on %s via %s\n%s%s", ep.IfName, ep.IP, ep.Gateway, resolv, hosts)

	// On stop: release the address (the veth goes with the namespace).
	_ = m.Detach(ctx, "app", id)
}
