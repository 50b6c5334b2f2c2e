//go:build windows

package hcs

import (
	"fmt"

	"github.com/Microsoft/hcsshim/hcn"
)

// ensureNetwork returns the berth NAT network, creating it when missing.
func ensureNetwork() (*hcn.HostComputeNetwork, error) {
	n, err := hcn.GetNetworkByName(NetworkName)
	if err == nil {
		return n, nil
	}
	if !hcn.IsNotFoundError(err) {
		return nil, fmt.Errorf("HNS network %q: %w", NetworkName, err)
	}
	n = &hcn.HostComputeNetwork{
		Name: NetworkName, Type: hcn.NAT, SchemaVersion: hcn.V2SchemaVersion(),
		Ipams: []hcn.Ipam{{Type: "Static", Subnets: []hcn.Subnet{{
			IpAddressPrefix: NATSubnet,
			Routes:          []hcn.Route{{NextHop: NATGateway, DestinationPrefix: "0.0.0.0/0"}},
		}}}},
	}
	n, err = n.Create()
	if err != nil {
		return nil, fmt.Errorf("create HNS NAT network %q (%s): %w", NetworkName, NATSubnet, err)
	}
	return n, nil
}

// endpointName is the machine's endpoint on the berth network.
func endpointName(machine string) string { return "berth-" + machine }

// ensureEndpoint returns the machine's endpoint, creating it when missing.
func ensureEndpoint(n *hcn.HostComputeNetwork, machine string) (*hcn.HostComputeEndpoint, error) {
	if ep, err := hcn.GetEndpointByName(endpointName(machine)); err == nil {
		return ep, nil
	}
	ep := &hcn.HostComputeEndpoint{Name: endpointName(machine), HostComputeNetwork: n.Id, SchemaVersion: hcn.V2SchemaVersion()}
	ep, err := n.CreateEndpoint(ep)
	if err != nil {
		return nil, fmt.Errorf("create HNS endpoint for machine %q: %w", machine, err)
	}
	return ep, nil
}

// deleteEndpoint removes the machine's endpoint; a missing one is fine.
func deleteEndpoint(machine string) error {
	ep, err := hcn.GetEndpointByName(endpointName(machine))
	if err != nil {
		if hcn.IsNotFoundError(err) {
			return nil
		}
		return err
	}
	return ep.Delete()
}

// netParam is the kernel's berth.net value for ep.
func netParam(ep *hcn.HostComputeEndpoint) string {
	if len(ep.IpConfigurations) == 0 {
		return ""
	}
	ip := ep.IpConfigurations[0]
	dns := ep.Dns.ServerList
	if len(dns) == 0 {
		dns = []string{NATGateway}
	}
	return NetParam(ip.IpAddress, ip.PrefixLength, NATGateway, dns)
}
