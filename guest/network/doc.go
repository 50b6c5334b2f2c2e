// Package network is the agent's container networking: docker's "bridge",
// "host" and "none" networks plus user-defined bridge networks.
//
// A Manager keeps the networks and their endpoints in the agent's bbolt
// database (bucket "networks.v1"), one record per network holding its
// endpoints, so IP allocation and endpoint bookkeeping change in one atomic
// update and survive restarts. On Linux it drives the kernel directly:
//
//   - bridges and veth pairs through rtnetlink (github.com/vishvananda/netlink),
//     never shelling out, with few round trips per attach;
//   - NAT and isolation through one nftables table "berth" (family ip),
//     rebuilt atomically from the stored networks whenever they change;
//   - an embedded DNS server on the gateway address of every user-defined
//     network that answers container names, short ids and aliases of the
//     endpoints on that network and forwards everything else.
//
// The Manager never tears down what running containers need: Close stops only
// the DNS servers, and New reuses bridges that still exist (live restore).
// Everything happens in one network namespace, the agent's own by default
// (Options.NetNS), which lets tests run a whole Manager inside a namespace
// they created.
package network
