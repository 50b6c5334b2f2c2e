package network

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/containerd/log"
	"github.com/miekg/dns"
)

// dnsTTL is the TTL of answers about containers (docker's value).
const dnsTTL = 600

// forwardTimeout bounds one query to one upstream resolver.
const forwardTimeout = 2 * time.Second

// dnsHandler answers the queries sent to one network's gateway.
type dnsHandler struct {
	// lookup returns the addresses of a container name, short id or alias
	// on this network (name is lower case, without the trailing dot); an
	// alias shared by several containers has several.
	lookup func(name string) []netip.Addr
	// reverse returns the container name owning addr, "" if none.
	reverse func(addr netip.Addr) string
	// upstreams lists the resolvers ("ip:port") the other names a client
	// asks for go to.
	upstreams func(client netip.Addr) []string
}

// ServeDNS implements dns.Handler.
func (h *dnsHandler) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	if len(r.Question) != 1 || r.Opcode != dns.OpcodeQuery {
		reply := new(dns.Msg)
		reply.SetRcode(r, dns.RcodeFormatError)
		_ = w.WriteMsg(reply)
		return
	}
	q := r.Question[0]
	name := strings.ToLower(strings.TrimSuffix(q.Name, "."))
	if q.Qclass == dns.ClassINET {
		if addrs := h.lookup(name); len(addrs) > 0 {
			m := localAnswer(r, q, addrs)
			if w.LocalAddr().Network() == "udp" {
				m.Truncate(udpSize(r)) // many containers behind one alias
			}
			_ = w.WriteMsg(m)
			return
		}
		if m := h.answerPTR(r, q, name); m != nil {
			_ = w.WriteMsg(m)
			return
		}
	}
	_ = w.WriteMsg(h.forward(r, w.LocalAddr().Network(), clientAddr(w.RemoteAddr())))
}

// localAnswer answers a query about a container: A gets its addresses, any
// other type an empty NOERROR answer (the name exists).
func localAnswer(r *dns.Msg, q dns.Question, addrs []netip.Addr) *dns.Msg {
	m := newReply(r)
	for _, a := range addrs {
		if q.Qtype == dns.TypeA && a.Is4() {
			m.Answer = append(m.Answer, &dns.A{
				Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: dnsTTL},
				A:   net.IP(a.AsSlice()),
			})
		}
	}
	return m
}

// udpSize is the largest UDP answer the client accepts.
func udpSize(r *dns.Msg) int {
	if o := r.IsEdns0(); o != nil && int(o.UDPSize()) > dns.MinMsgSize {
		return int(o.UDPSize())
	}
	return dns.MinMsgSize
}

func newReply(r *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	m.RecursionAvailable = true
	return m
}

// answerPTR answers a reverse query for a container's address, nil when
// the address is not one of this network's containers.
func (h *dnsHandler) answerPTR(r *dns.Msg, q dns.Question, name string) *dns.Msg {
	if q.Qtype != dns.TypePTR || h.reverse == nil {
		return nil
	}
	rev, ok := strings.CutSuffix(name, ".in-addr.arpa")
	if !ok {
		return nil
	}
	p := strings.Split(rev, ".")
	if len(p) != 4 {
		return nil
	}
	a, err := netip.ParseAddr(p[3] + "." + p[2] + "." + p[1] + "." + p[0])
	if err != nil {
		return nil
	}
	target := h.reverse(a)
	if target == "" {
		return nil
	}
	m := newReply(r)
	m.Answer = append(m.Answer, &dns.PTR{
		Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: dnsTTL},
		Ptr: dns.Fqdn(target),
	})
	return m
}

// forward relays r to the upstream resolvers in turn and returns the first
// answer, or SERVFAIL when none answers.
func (h *dnsHandler) forward(r *dns.Msg, proto string, client netip.Addr) *dns.Msg {
	for _, up := range h.upstreams(client) {
		resp, err := exchange(r, proto, up)
		if err == nil && resp.Truncated && proto == "udp" {
			resp, err = exchange(r, "tcp", up)
		}
		if err == nil {
			resp.Id = r.Id
			return resp
		}
		log.L.WithError(err).WithField("upstream", up).Debug("dns forward failed")
	}
	m := new(dns.Msg)
	m.SetRcode(r, dns.RcodeServerFailure)
	m.RecursionAvailable = true
	return m
}

func clientAddr(a net.Addr) netip.Addr {
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

func exchange(r *dns.Msg, proto, upstream string) (*dns.Msg, error) {
	if proto != "tcp" {
		proto = "udp"
	}
	c := &dns.Client{Net: proto, Timeout: forwardTimeout}
	ctx, cancel := context.WithTimeout(context.Background(), forwardTimeout)
	defer cancel()
	resp, _, err := c.ExchangeContext(ctx, r, upstream)
	return resp, err
}

// dnsServer is one network's embedded DNS server (UDP and TCP on the same
// address).
type dnsServer struct {
	udp, tcp *dns.Server
	wg       sync.WaitGroup
}

// startDNS serves h on pc and l until stop is called. It returns once both
// servers run, so that a query sent right after it is answered.
func startDNS(h dns.Handler, pc net.PacketConn, l net.Listener) *dnsServer {
	s := &dnsServer{
		udp: &dns.Server{PacketConn: pc, Handler: h},
		tcp: &dns.Server{Listener: l, Handler: h, ReadTimeout: 5 * time.Second},
	}
	ready := make(chan struct{}, 2)
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		srv.NotifyStartedFunc = func() { ready <- struct{}{} }
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := srv.ActivateAndServe(); err != nil {
				ready <- struct{}{} // failed to start: do not block the caller
			}
		}()
	}
	<-ready
	<-ready
	return s
}

// stop closes the sockets and waits for the serving goroutines.
func (s *dnsServer) stop() {
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		if err := srv.Shutdown(); err != nil {
			// Not started yet: close the socket directly so Serve returns.
			if srv.PacketConn != nil {
				srv.PacketConn.Close()
			}
			if srv.Listener != nil {
				srv.Listener.Close()
			}
		}
	}
	s.wg.Wait()
}

// upstreamAddrs turns resolver addresses into "ip:port" forms, dropping
// those in skip (our own listeners: forwarding there would loop).
func upstreamAddrs(list []string, skip map[netip.Addr]bool) []string {
	var out []string
	for _, s := range list {
		if ap, err := netip.ParseAddrPort(s); err == nil {
			if !skip[ap.Addr()] {
				out = append(out, ap.String())
			}
			continue
		}
		if a, err := netip.ParseAddr(s); err == nil && !skip[a] {
			out = append(out, netip.AddrPortFrom(a, 53).String())
		}
	}
	return out
}
