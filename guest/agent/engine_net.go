//go:build linux

package agent

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	ntypes "github.com/moby/moby/api/types/network"

	"github.com/berth-dev/berth/guest/container"
	"github.com/berth-dev/berth/guest/network"
)

// networkOrder returns the container's networks, the primary (NetworkMode)
// first, then by name.
func networkOrder(r *record) []string {
	primary := string(r.HostConfig.NetworkMode)
	names := make([]string, 0, len(r.Networks))
	for n := range r.Networks {
		if n != primary {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if _, ok := r.Networks[primary]; ok {
		names = append([]string{primary}, names...)
	}
	return names
}

// setupNetwork makes the container's network namespace, attaches it to
// its networks (filling in r.Networks) and returns what the runtime needs.
func (e *engine) setupNetwork(ctx context.Context, r *record) (container.NetworkConfig, error) {
	if joinedID(r) != "" {
		return e.joinNetwork(r)
	}
	if es, ok := r.Networks[network.NameHost]; ok {
		if _, err := e.nets.Attach(ctx, es.NetworkID, r.ID, "", network.AttachOptions{Name: r.Name}); err != nil {
			return container.NetworkConfig{}, err
		}
		return container.NetworkConfig{Mode: container.NetworkHost}, nil
	}
	path := e.netnsPath(r.ID)
	if err := newNetns(path); err != nil {
		return container.NetworkConfig{}, err
	}
	nc := container.NetworkConfig{Mode: container.NetworkNetns, NetnsPath: path}
	hostname := r.Config.Hostname
	if hostname == "" {
		hostname = shortID(r.ID)
	}
	for _, name := range networkOrder(r) {
		if err := e.attachOne(ctx, r, name, path); err != nil {
			e.teardownNetwork(context.WithoutCancel(ctx), r)
			return container.NetworkConfig{}, err
		}
		if es := r.Networks[name]; es.IPAddress.IsValid() {
			nc.HostsEntries = append(nc.HostsEntries, es.IPAddress.String()+"\t"+hostname)
		}
	}
	resolv, err := e.resolvConf(r)
	if err != nil {
		e.teardownNetwork(context.WithoutCancel(ctx), r)
		return container.NetworkConfig{}, err
	}
	nc.ResolvConf = resolv
	return nc, nil
}

// attachOne connects the running (or starting) container to one network.
func (e *engine) attachOne(ctx context.Context, r *record, name, nsPath string) error {
	es := r.Networks[name]
	opts := network.AttachOptions{Name: r.Name, Aliases: es.Aliases}
	if es.IPAMConfig != nil && es.IPAMConfig.IPv4Address.IsValid() {
		opts.IP = es.IPAMConfig.IPv4Address.String()
	}
	ep, err := e.nets.Attach(ctx, es.NetworkID, r.ID, nsPath, opts)
	if err != nil {
		return err
	}
	fillEndpoint(es, ep, r)
	return nil
}

// fillEndpoint copies a live endpoint into docker's EndpointSettings.
func fillEndpoint(es *ntypes.EndpointSettings, ep *network.Endpoint, r *record) {
	es.NetworkID, es.EndpointID = ep.NetworkID, ep.ID
	es.Gateway = ep.Gateway
	if ep.IP.IsValid() {
		es.IPAddress, es.IPPrefixLen = ep.IP.Addr(), ep.IP.Bits()
	}
	es.MacAddress = ntypes.HardwareAddr(ep.HardwareAddr())
	es.DNSNames = nil
	if ep.IP.IsValid() {
		es.DNSNames = append([]string{r.Name, shortID(r.ID)}, es.Aliases...)
	}
}

// resolvConf is the container's /etc/resolv.conf: docker's --dns,
// --dns-search and --dns-option override the network's.
func (e *engine) resolvConf(r *record) ([]byte, error) {
	hc := r.HostConfig
	if len(hc.DNS) == 0 && len(hc.DNSSearch) == 0 && len(hc.DNSOptions) == 0 {
		return e.nets.ResolvConf(string(hc.NetworkMode))
	}
	base, err := e.nets.ResolvConf(string(hc.NetworkMode))
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	for _, line := range strings.Split(string(base), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch {
		case f[0] == "nameserver" && len(hc.DNS) > 0,
			(f[0] == "search" || f[0] == "domain") && len(hc.DNSSearch) > 0,
			f[0] == "options" && len(hc.DNSOptions) > 0:
			continue
		}
		b.WriteString(line + "\n")
	}
	for _, a := range hc.DNS {
		fmt.Fprintf(&b, "nameserver %s\n", a)
	}
	if len(hc.DNSSearch) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(hc.DNSSearch, " "))
	}
	if len(hc.DNSOptions) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(hc.DNSOptions, " "))
	}
	return []byte(b.String()), nil
}

// teardownNetwork detaches the container from its networks and removes its
// namespace. It clears the live endpoint fields of r.Networks.
func (e *engine) teardownNetwork(ctx context.Context, r *record) {
	for name, es := range r.Networks {
		if err := e.nets.Detach(ctx, es.NetworkID, r.ID); err != nil && !errdefs.IsNotFound(err) {
			log.G(ctx).WithError(err).WithField("network", name).Warn("detach container")
		}
		clearEndpoint(es)
	}
	if err := removeNetns(e.netnsPath(r.ID)); err != nil {
		log.G(ctx).WithError(err).Warn("remove network namespace")
	}
}

func clearEndpoint(es *ntypes.EndpointSettings) {
	es.EndpointID, es.Gateway, es.IPAddress, es.IPPrefixLen = "", netip.Addr{}, netip.Addr{}, 0
	es.MacAddress, es.DNSNames = nil, nil
}

// ensureNetwork re-creates a container's namespace and endpoints when they
// are gone (the machine restarted) and rewrites its hosts and resolv.conf.
func (e *engine) ensureNetwork(ctx context.Context, r *record, c *container.Container) error {
	if joinedID(r) != "" { // refresh the owner's address and resolver
		if err := e.checkJoinable(ctx, r); err != nil {
			return err
		}
		return e.rebuildNetwork(ctx, r, c.Dir())
	}
	if _, ok := r.Networks[network.NameHost]; ok || isMountpoint(e.netnsPath(r.ID)) {
		return nil
	}
	return e.rebuildNetwork(ctx, r, c.Dir())
}

// writeFileAtomic replaces path with b (temp file, fsync, rename).
func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
