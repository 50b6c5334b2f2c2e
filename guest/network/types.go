package network

import (
	"net"
	"net/netip"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Driver names, as docker reports them.
const (
	DriverBridge = "bridge"
	DriverHost   = "host"
	DriverNull   = "null"
)

// Names of the predefined networks.
const (
	NameBridge = "bridge"
	NameHost   = "host"
	NameNone   = "none"
)

// Bridge driver options understood by Create (docker's keys).
const (
	OptBridgeName = "com.docker.network.bridge.name"
	OptMTU        = "com.docker.network.driver.mtu"
	OptMasquerade = "com.docker.network.bridge.enable_ip_masquerade"
)

// DefaultBridgeName is the Linux bridge of the predefined "bridge" network.
const DefaultBridgeName = "berth0"

// Options configure a Manager. Only DB is required.
type Options struct {
	// DB is the agent's metadata database; the Manager uses its own
	// top-level bucket "networks.v1".
	DB *bolt.DB
	// StateDir is a directory the Manager may use for files (unused today).
	StateDir string
	// NetNS is the path of the network namespace the Manager works in
	// (bridges, nftables, DNS listeners). Empty: the calling process's own.
	NetNS string
	// DefaultBridge is the Linux bridge of the "bridge" network
	// (default DefaultBridgeName).
	DefaultBridge string
	// Table is the nftables table (family ip) of this Manager's rules
	// (default TableName). Engines sharing one network namespace (native
	// machines on one host) need one table each: every sync rewrites it.
	Table string
	// HostLock, when set, is a file locked (flock) while a subnet is chosen
	// and its bridge given its address, so that engines sharing one network
	// namespace (native machines on one host, starting at once) never pick
	// the same free subnet.
	HostLock string
	// DefaultSubnet is the subnet of the "bridge" network when it is first
	// created. Empty: the first of AddressPools free on this host
	// (172.17.0.0/16 unless a route or address overlaps it).
	DefaultSubnet string
	// AddressPools are the subnets handed out when no subnet is given
	// (default: docker's 172.17-31.0.0/16, then 192.168.0-240.0/20).
	AddressPools []netip.Prefix
	// MTU of bridges and veths (default 1500).
	MTU int
	// ResolvConfPath is the host resolver configuration read for container
	// resolv.conf files and DNS forwarding (default /etc/resolv.conf).
	ResolvConfPath string
	// Upstreams, when set, are the DNS servers ("ip" or "ip:port") the
	// embedded DNS forwards to instead of those in ResolvConfPath.
	Upstreams []string
	// DisableDNS turns the embedded DNS servers off.
	DisableDNS bool
}

// CreateOptions describe a new user-defined network.
type CreateOptions struct {
	Name     string
	Driver   string // "" or "bridge"
	Subnet   string // CIDR; empty: picked from the address pools
	Gateway  string // empty: first address of the subnet
	IPRange  string // CIDR inside Subnet that container IPs come from
	Internal bool   // no traffic to or from outside the network
	Labels   map[string]string
	Options  map[string]string
}

// AttachOptions describe a container's endpoint on a network.
type AttachOptions struct {
	// Name is the container's name (without "/"); resolvable by DNS.
	Name string
	// Aliases are extra DNS names on this network.
	Aliases []string
	// IP requests a specific address (user-defined networks only).
	IP string
	// MAC requests a specific MAC address; default 02:42 + the IPv4 bytes.
	MAC string
	// DNS are the resolvers ("ip" or "ip:port") the embedded DNS forwards
	// this container's other queries to (docker's --dns on a user-defined
	// network, whose resolv.conf keeps the embedded server). Default: the
	// Manager's upstreams.
	DNS []string
	// IfName is the interface name inside the container; default the
	// lowest free ethN among the container's endpoints.
	IfName string
}

// PruneOptions select what Prune removes.
type PruneOptions struct {
	// Filter, when set, must return true for a network to be removed.
	Filter func(*Network) bool
}

// Network is a network as stored and as Inspect reports it.
type Network struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Driver   string            `json:"driver"`
	Created  time.Time         `json:"created"`
	Subnet   netip.Prefix      `json:"subnet,omitzero"`
	Gateway  netip.Addr        `json:"gateway,omitzero"`
	IPRange  netip.Prefix      `json:"ipRange,omitzero"`
	Internal bool              `json:"internal,omitempty"`
	Bridge   string            `json:"bridge,omitempty"`
	MTU      int               `json:"mtu,omitempty"`
	NoMasq   bool              `json:"noMasquerade,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	Options  map[string]string `json:"options,omitempty"`
	// Endpoints by container id.
	Endpoints map[string]*Endpoint `json:"endpoints,omitempty"`
}

// Predefined reports whether n is one of "bridge", "host" and "none".
func (n *Network) Predefined() bool {
	return n.Name == NameBridge || n.Name == NameHost || n.Name == NameNone
}

// UserDefined reports whether n is a user-defined bridge network (the kind
// with an embedded DNS server).
func (n *Network) UserDefined() bool {
	return n.Driver == DriverBridge && n.Name != NameBridge
}

func (n *Network) clone() *Network {
	c := *n
	c.Endpoints = make(map[string]*Endpoint, len(n.Endpoints))
	for k, e := range n.Endpoints {
		ec := *e
		ec.Aliases = append([]string(nil), e.Aliases...)
		ec.DNS = append([]string(nil), e.DNS...)
		c.Endpoints[k] = &ec
	}
	return &c
}

// Endpoint is a container's attachment to a network.
type Endpoint struct {
	ID          string       `json:"id"`
	NetworkID   string       `json:"networkId"`
	ContainerID string       `json:"containerId"`
	Name        string       `json:"name,omitempty"`
	Aliases     []string     `json:"aliases,omitempty"`
	IP          netip.Prefix `json:"ip,omitzero"` // address/prefix length
	Gateway     netip.Addr   `json:"gateway,omitzero"`
	MAC         string       `json:"mac,omitempty"`
	HostVeth    string       `json:"hostVeth,omitempty"`
	IfName      string       `json:"ifName,omitempty"`
	DNS         []string     `json:"dns,omitempty"`
}

// HardwareAddr returns the endpoint's MAC, nil when it has none.
func (e *Endpoint) HardwareAddr() net.HardwareAddr {
	hw, _ := net.ParseMAC(e.MAC)
	return hw
}
