package container

import (
	"fmt"
	"strings"
)

const defaultHosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" +
	"fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"

// HostsFile is the content of a container's /etc/hosts.
func HostsFile(extraHosts, entries []string) (string, error) {
	var b strings.Builder
	b.WriteString(defaultHosts)
	for _, h := range extraHosts {
		name, ip, ok := strings.Cut(h, "=")
		if !ok {
			name, ip, ok = strings.Cut(h, ":")
		}
		if !ok || name == "" || ip == "" {
			return "", fmt.Errorf("invalid extra host %q: use HOST:IP: %w", h, errInvalid)
		}
		ip = strings.TrimSuffix(strings.TrimPrefix(ip, "["), "]")
		fmt.Fprintf(&b, "%s\t%s\n", ip, name)
	}
	for _, e := range entries {
		b.WriteString(strings.TrimRight(e, "\n") + "\n")
	}
	return b.String(), nil
}
