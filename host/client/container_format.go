package client

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// ellipsis shortens s to n characters, the last one "…", as docker's
// formatter does.
func ellipsis(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	if n == 1 {
		return string(r[0])
	}
	return string(r[:n-1]) + "…"
}

// truncID is docker's 12-character container id.
func truncID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// displayPorts formats published and exposed ports the way `docker ps`
// does: consecutive ports grouped into ranges ("8000-8002/tcp"), mappings
// to other host ports listed last ("127.0.0.1:8080->80/tcp").
func displayPorts(in []*agentv1.PortBinding) string {
	ports := slices.Clone(in)
	slices.SortStableFunc(ports, comparePorts)
	type group struct{ first, last uint32 }
	groups := map[string]*group{}
	var keys, result, mappings []string
	for _, p := range ports {
		cur := p.ContainerPort
		key := p.Proto
		if p.HostIp != "" {
			if p.HostPort != cur {
				mappings = append(mappings, fmt.Sprintf("%s:%d->%d/%s", p.HostIp, p.HostPort, p.ContainerPort, p.Proto))
				continue
			}
			key = p.HostIp + "/" + p.Proto
		}
		g := groups[key]
		if g == nil {
			groups[key] = &group{cur, cur}
			keys = append(keys, key)
			continue
		}
		if cur == g.last+1 {
			g.last = cur
			continue
		}
		result = append(result, portGroup(key, g.first, g.last))
		groups[key] = &group{cur, cur}
	}
	for _, k := range keys {
		g := groups[k]
		result = append(result, portGroup(k, g.first, g.last))
	}
	return strings.Join(append(result, mappings...), ", ")
}

func portGroup(key string, first, last uint32) string {
	ip, proto, ok := strings.Cut(key, "/")
	if !ok {
		ip, proto = "", key
	}
	g := strconv.Itoa(int(first))
	if first != last {
		g = fmt.Sprintf("%s-%d", g, last)
	}
	if ip != "" {
		g = fmt.Sprintf("%s:%s->%s", ip, g, g)
	}
	return g + "/" + proto
}

func comparePorts(a, b *agentv1.PortBinding) int {
	if a.ContainerPort != b.ContainerPort {
		return int(a.ContainerPort) - int(b.ContainerPort)
	}
	if a.HostIp != b.HostIp {
		return strings.Compare(normalizeIP(a.HostIp), normalizeIP(b.HostIp))
	}
	if a.HostPort != b.HostPort {
		return int(a.HostPort) - int(b.HostPort)
	}
	return strings.Compare(a.Proto, b.Proto)
}

func normalizeIP(s string) string {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.String()
	}
	return s
}
