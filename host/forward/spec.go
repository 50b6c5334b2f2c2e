package forward

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/docker/go-connections/nat"
	"github.com/moby/moby/api/types/network"

	"github.com/berth-dev/berth/host/internal/errkind"
)

// Protocols a Binding may use.
const (
	TCP = "tcp"
	UDP = "udp"
)

// Binding publishes one container port on the host.
type Binding struct {
	// Proto is TCP or UDP.
	Proto string
	// HostIP is the address to listen on. The zero Addr means the
	// Forwarder's default addresses (127.0.0.1 and ::1 unless changed).
	HostIP netip.Addr
	// HostPort is the host port; 0 picks a free one. When HostPortEnd is
	// greater, the first free port of HostPort..HostPortEnd is used (docker's
	// "8000-8010:80").
	HostPort    uint16
	HostPortEnd uint16
	// ContainerPort is the port inside the container.
	ContainerPort uint16
}

// String formats b the way docker ps does: "127.0.0.1:8080->80/tcp",
// "[::1]:8080->80/tcp", "8000-8010->80/tcp" (range), "80/tcp" (no host side
// chosen yet).
func (b Binding) String() string {
	target := strconv.Itoa(int(b.ContainerPort)) + "/" + b.Proto
	host := b.hostPortString()
	if host == "0" && !b.HostIP.IsValid() {
		return target
	}
	if b.HostIP.IsValid() {
		host = net.JoinHostPort(b.HostIP.String(), host)
	}
	return host + "->" + target
}

// hostPortString is HostPort, or the range "start-end".
func (b Binding) hostPortString() string {
	s := strconv.Itoa(int(b.HostPort))
	if b.HostPortEnd > b.HostPort {
		s += "-" + strconv.Itoa(int(b.HostPortEnd))
	}
	return s
}

// ParsePortSpecs parses every -p value; see ParsePortSpec.
func ParsePortSpecs(specs []string) ([]Binding, error) {
	var out []Binding
	for _, s := range specs {
		bs, err := ParsePortSpec(s)
		if err != nil {
			return nil, err
		}
		out = append(out, bs...)
	}
	return out, nil
}

// ParsePortSpec parses one docker -p value:
//
//	80                     container port 80/tcp on a free host port
//	8080:80                host 8080 -> container 80
//	127.0.0.1:8080:80      on one address ([::1]:8080:80, 0.0.0.0:8080:80, ...)
//	127.0.0.1::80          on one address, free host port (":80" too)
//	8080:80/udp            udp (tcp is the default; "/tcp" may be written)
//	8000-8010:8000-8010    one binding per port of equal ranges
//	8000-8010:80           the first free host port of the range
//
// Errors are docker's ("invalid containerPort: x", "invalid hostPort: y",
// "invalid proto: z", "invalid IP address: ...") and match
// errdefs.ErrInvalidArgument.
func ParsePortSpec(spec string) ([]Binding, error) {
	// nat reads a bare "host:port" IPv6 address wrongly only when the
	// brackets are missing, which docker rejects as well; everything else it
	// handles, so berth's forms are exactly docker's.
	mappings, err := nat.ParsePortSpec(spec)
	if err != nil {
		return nil, errkind.New(errdefs.ErrInvalidArgument, "%s", cleanNatError(spec, err))
	}
	out := make([]Binding, 0, len(mappings))
	for _, m := range mappings {
		b, err := fromNat(m.Port, m.Binding)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// cleanNatError rewords nat's few unclear messages.
func cleanNatError(spec string, err error) string {
	msg := err.Error()
	if strings.HasPrefix(msg, "no port specified") {
		return fmt.Sprintf("invalid port spec %q: no container port given (want [ip:][hostPort:]containerPort[/proto])", spec)
	}
	return msg
}

// fromNat converts one nat mapping, checking what nat lets through but berth
// cannot forward (sctp, container port 0).
func fromNat(port nat.Port, pb nat.PortBinding) (Binding, error) {
	b := Binding{Proto: port.Proto()}
	if b.Proto != TCP && b.Proto != UDP {
		return Binding{}, errkind.New(errdefs.ErrInvalidArgument, "invalid proto: %s (berth forwards tcp and udp)", b.Proto)
	}
	cp, err := strconv.ParseUint(port.Port(), 10, 16)
	if err != nil || cp == 0 {
		return Binding{}, errkind.New(errdefs.ErrInvalidArgument, "invalid containerPort: %s", port.Port())
	}
	b.ContainerPort = uint16(cp)
	if pb.HostIP != "" {
		ip, err := netip.ParseAddr(pb.HostIP)
		if err != nil {
			return Binding{}, errkind.New(errdefs.ErrInvalidArgument, "invalid IP address: %s", pb.HostIP)
		}
		b.HostIP = ip.Unmap()
	}
	if pb.HostPort != "" {
		start, end, err := nat.ParsePortRangeToInt(pb.HostPort)
		if err != nil {
			return Binding{}, errkind.New(errdefs.ErrInvalidArgument, "invalid hostPort: %s", pb.HostPort)
		}
		b.HostPort = uint16(start)
		if end > start {
			b.HostPortEnd = uint16(end)
		}
	}
	return b, nil
}

// PublishAll returns the bindings -P adds: every exposed port ("80",
// "80/tcp", "53/udp", "8000-8010/tcp") that has no binding yet in bound is
// published on a free host port of the default addresses. The result is
// bound followed by the new bindings, sorted by proto then port.
func PublishAll(exposed []string, bound []Binding) ([]Binding, error) {
	have := map[string]bool{}
	for _, b := range bound {
		have[b.Proto+"/"+strconv.Itoa(int(b.ContainerPort))] = true
	}
	var added []Binding
	for _, e := range exposed {
		proto, ports := nat.SplitProtoPort(e)
		if ports == "" {
			return nil, errkind.New(errdefs.ErrInvalidArgument, "invalid exposed port %q: no port given", e)
		}
		bs, err := ParsePortSpec(ports + "/" + strings.ToLower(proto))
		if err != nil {
			return nil, err
		}
		for _, b := range bs {
			k := b.Proto + "/" + strconv.Itoa(int(b.ContainerPort))
			if !have[k] {
				have[k] = true
				added = append(added, b)
			}
		}
	}
	slices.SortFunc(added, func(a, b Binding) int {
		if c := strings.Compare(a.Proto, b.Proto); c != 0 {
			return c
		}
		return int(a.ContainerPort) - int(b.ContainerPort)
	})
	return append(slices.Clone(bound), added...), nil
}

// PortMap converts bindings to docker's HostConfig.PortBindings (also used
// for NetworkSettings.Ports): the zero HostIP stays unset and HostPort is
// "" for a free port, the number, or the range "start-end".
func PortMap(bs []Binding) network.PortMap {
	m := network.PortMap{}
	for _, b := range bs {
		p, ok := network.PortFrom(b.ContainerPort, network.IPProtocol(b.Proto))
		if !ok {
			continue
		}
		pb := network.PortBinding{HostIP: b.HostIP}
		if b.HostPort != 0 || b.HostPortEnd != 0 {
			pb.HostPort = b.hostPortString()
		}
		m[p] = append(m[p], pb)
	}
	return m
}

// NatPortMap is PortMap in go-connections' nat form.
func NatPortMap(bs []Binding) nat.PortMap {
	m := nat.PortMap{}
	for _, b := range bs {
		p := nat.Port(strconv.Itoa(int(b.ContainerPort)) + "/" + b.Proto)
		pb := nat.PortBinding{}
		if b.HostIP.IsValid() {
			pb.HostIP = b.HostIP.String()
		}
		if b.HostPort != 0 || b.HostPortEnd != 0 {
			pb.HostPort = b.hostPortString()
		}
		m[p] = append(m[p], pb)
	}
	return m
}

// FromPortMap converts docker's HostConfig.PortBindings back to bindings,
// sorted by proto, container port, host address and host port. A port with
// no binding entries is published on a free port, as docker does.
func FromPortMap(m network.PortMap) ([]Binding, error) {
	var out []Binding
	for p, pbs := range m {
		if len(pbs) == 0 {
			pbs = []network.PortBinding{{}}
		}
		for _, pb := range pbs {
			spec := p.Port() + "/" + string(p.Proto())
			if pb.HostPort != "" {
				spec = pb.HostPort + ":" + spec
			}
			bs, err := ParsePortSpec(spec)
			if err != nil {
				return nil, err
			}
			for i := range bs {
				bs[i].HostIP = pb.HostIP.Unmap()
			}
			out = append(out, bs...)
		}
	}
	sortBindings(out)
	return out, nil
}

func sortBindings(bs []Binding) {
	slices.SortFunc(bs, compareBindings)
}

func compareBindings(a, b Binding) int {
	if c := strings.Compare(a.Proto, b.Proto); c != 0 {
		return c
	}
	if c := int(a.ContainerPort) - int(b.ContainerPort); c != 0 {
		return c
	}
	if c := a.HostIP.Compare(b.HostIP); c != 0 {
		return c
	}
	if c := int(a.HostPort) - int(b.HostPort); c != 0 {
		return c
	}
	return int(a.HostPortEnd) - int(b.HostPortEnd)
}

// ContainerBindings returns what a container publishes, from its
// Config.ExposedPorts and HostConfig (PortBindings, PublishAllPorts): the
// port bindings, plus with -P every exposed port that has none, on a free
// host port. The machine daemon passes the result to Add or Reconcile.
func ContainerBindings(exposed network.PortSet, bindings network.PortMap, publishAll bool) ([]Binding, error) {
	bs, err := FromPortMap(bindings)
	if err != nil || !publishAll {
		return bs, err
	}
	ports := make([]string, 0, len(exposed))
	for p := range exposed {
		ports = append(ports, p.String())
	}
	slices.Sort(ports)
	return PublishAll(ports, bs)
}

// ForwardsPortMap is what was bound, in the form of docker's
// NetworkSettings.Ports (real addresses and ports), for ps, port and
// inspect.
func ForwardsPortMap(fws []Forward) network.PortMap {
	bs := make([]Binding, len(fws))
	for i, f := range fws {
		bs[i] = f.Binding
	}
	return PortMap(bs)
}
