package forward

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/internal/errkind"
)

// ephemeralRetries bounds how often a free port picked on the first default
// address is retried when it is taken on another one.
const ephemeralRetries = 8

// bindAll binds a socket for every host address of every binding, or none.
// f.mu is held.
func (f *Forwarder) bindAll(containerID string, bindings []Binding) ([]listener, error) {
	var all []listener
	fail := func(err error) ([]listener, error) {
		for _, l := range all {
			l.close()
		}
		return nil, err
	}
	for _, b := range bindings {
		if b.Proto != TCP && b.Proto != UDP {
			return fail(errkind.New(errdefs.ErrInvalidArgument, "invalid proto: %s (berth forwards tcp and udp)", b.Proto))
		}
		if b.ContainerPort == 0 {
			return fail(errkind.New(errdefs.ErrInvalidArgument, "invalid containerPort: 0"))
		}
		ls, err := f.bindOne(containerID, b, all)
		if err != nil {
			return fail(err)
		}
		all = append(all, ls...)
	}
	return all, nil
}

// bindOne binds b on each of its addresses with one common port: the port
// asked for, the first free one of a range, or a free one.
func (f *Forwarder) bindOne(containerID string, b Binding, pending []listener) ([]listener, error) {
	addrs, explicit := []netip.Addr{b.HostIP}, true
	if !b.HostIP.IsValid() {
		addrs, explicit = f.opts.defaultAddrs, false
	}
	if b.HostPortEnd > b.HostPort {
		for p := int(b.HostPort); p <= int(b.HostPortEnd); p++ {
			ls, err := f.bindAt(containerID, b, addrs, explicit, uint16(p), pending)
			if err == nil {
				return ls, nil
			}
			if !errdefs.IsConflict(err) {
				return nil, err
			}
		}
		return nil, &BindError{Addr: hostPortRange(addrs[0], b), Err: errAllAllocated}
	}
	tries := 1
	if b.HostPort == 0 {
		tries = ephemeralRetries
	}
	var err error
	for range tries {
		var ls []listener
		ls, err = f.bindAt(containerID, b, addrs, explicit, b.HostPort, pending)
		if err == nil || !errdefs.IsConflict(err) {
			return ls, err
		}
	}
	return nil, err
}

// bindAt binds b's proto on every address at port (0: the first address
// picks a free port, the others take the same one).
func (f *Forwarder) bindAt(containerID string, b Binding, addrs []netip.Addr, explicit bool, port uint16, pending []listener) ([]listener, error) {
	var ls []listener
	undo := func() {
		for _, l := range ls {
			l.close()
		}
	}
	for _, a := range addrs {
		ap := netip.AddrPortFrom(a, port)
		if port != 0 && f.taken(b.Proto, ap, pending, ls) {
			undo()
			return nil, &BindError{Addr: ap.String(), Err: errAllocated}
		}
		l, err := f.listen(containerID, b, ap)
		if err != nil {
			if !explicit && a.Is6() && isAddrNotAvail(err) && len(addrs) > 1 {
				continue // IPv6 is off on this host: publish on IPv4 only
			}
			undo()
			return nil, bindError(ap, err)
		}
		ls = append(ls, l)
		port = l.forward().HostPort
	}
	return ls, nil
}

// taken reports whether ap overlaps an address the Forwarder already
// serves for proto (the OS says so too on Linux and macOS, but not always
// on Windows, where a specific address may be bound beside a wildcard one).
func (f *Forwarder) taken(proto string, ap netip.AddrPort, lists ...[]listener) bool {
	overlaps := func(fw Forward) bool {
		if fw.Proto != proto || fw.HostPort != ap.Port() || fw.HostIP.Is4() != ap.Addr().Is4() {
			return false
		}
		return fw.HostIP == ap.Addr() || fw.HostIP.IsUnspecified() || ap.Addr().IsUnspecified()
	}
	for _, cf := range f.containers {
		for _, l := range cf.listeners {
			if overlaps(l.forward()) {
				return true
			}
		}
	}
	for _, ls := range lists {
		for _, l := range ls {
			if overlaps(l.forward()) {
				return true
			}
		}
	}
	return false
}

// listen binds one host socket; TCP and UDP on an IPv6 address are IPv6
// only, so 0.0.0.0 and :: are two separate bindings as in docker.
func (f *Forwarder) listen(containerID string, b Binding, ap netip.AddrPort) (listener, error) {
	network := b.Proto + "4"
	if ap.Addr().Is6() {
		network = b.Proto + "6"
	}
	fw := Forward{ContainerID: containerID, Binding: b}
	fw.HostIP, fw.HostPortEnd = ap.Addr(), 0
	if b.Proto == UDP {
		pc, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(ap))
		if err != nil {
			return nil, err
		}
		fw.HostPort = pc.LocalAddr().(*net.UDPAddr).AddrPort().Port()
		return newUDPListener(f, fw, pc), nil
	}
	ln, err := net.ListenTCP(network, net.TCPAddrFromAddrPort(ap))
	if err != nil {
		return nil, err
	}
	fw.HostPort = ln.Addr().(*net.TCPAddr).AddrPort().Port()
	return newTCPListener(f, fw, ln), nil
}

var (
	errAllocated    = errors.New("port is already allocated")
	errAllAllocated = errors.New("all ports are allocated")
)

// BindError is a host address that could not be published. Its message is
// docker's: "Bind for 127.0.0.1:8080 failed: port is already allocated".
// A port in use matches errdefs.ErrConflict.
type BindError struct {
	Addr string // host:port, or host:start-end for a range
	Err  error
}

func (e *BindError) Error() string { return "Bind for " + e.Addr + " failed: " + e.Err.Error() }

// Unwrap returns the cause and, for a port in use, errdefs.ErrConflict.
func (e *BindError) Unwrap() []error {
	if errors.Is(e.Err, errAllocated) || errors.Is(e.Err, errAllAllocated) {
		return []error{e.Err, errdefs.ErrConflict}
	}
	return []error{e.Err, errdefs.ErrUnavailable}
}

// bindError explains a failed bind in docker's words.
func bindError(ap netip.AddrPort, err error) error {
	switch {
	case isAddrInUse(err):
		err = errAllocated
	case isAddrNotAvail(err):
		err = fmt.Errorf("cannot assign requested address: no interface of this host has %s", ap.Addr())
	case isAccessDenied(err):
		err = fmt.Errorf("permission denied: %s", accessHint)
	default:
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Err != nil {
			err = oe.Err
		}
	}
	return &BindError{Addr: ap.String(), Err: err}
}

func hostPortRange(a netip.Addr, b Binding) string {
	return net.JoinHostPort(a.String(), strconv.Itoa(int(b.HostPort))+"-"+strconv.Itoa(int(b.HostPortEnd)))
}
