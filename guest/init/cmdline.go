// Package guestinit (guest/init) is PID 1 inside berth's VM: it mounts the kernel
// filesystems, moves the root off the initramfs (so crun's pivot_root
// works), loads the kernel modules, seeds entropy, sets the clock,
// hostname and network, formats and mounts the data disk, mounts the
// folder shares, then runs the engine (berth-agent) as a supervised child,
// restarts it when it crashes, reaps orphans and powers the VM off on
// request. The kernel never sees PID 1 exit.
//
// Everything it needs comes from the kernel command line (see Config).
package guestinit

import (
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Share is a folder share mounted at the same path as on the host.
type Share struct {
	Tag  string // virtiofs tag or 9p mount tag
	Path string
	Type string // "virtiofs" or "9p"
}

// Config is what the kernel command line says. Parameters:
//
//	berth.port=N            vsock port the agent serves on (default 1024)
//	berth.ip=ADDR/LEN[,gw=IP][,dns=IP]   static eth0; berth.ip=dhcp or absent: DHCP
//	berth.disk=/dev/vda     the data disk (default: the first virtio disk, /dev/vda)
//	berth.share=TAG:PATH    virtiofs share mounted at PATH (repeatable; PATH %-escaped)
//	berth.share9p=TAG:PATH  9p (virtio) share mounted at PATH
//	berth.sharehv=ANAME:PATH  Plan 9 share served by the host on hvsock port 564 (hcs)
//	berth.dial=host         the agent's connections are dialed to the host (hcs), not accepted
//	berth.rosetta=TAG       virtiofs Rosetta share: x86_64 binaries run through it (vz)
//	berth.time=NANOS        host time, Unix nanoseconds, set at boot
//	berth.seed=HEX          entropy from the host
//	berth.hostname=NAME     hostname (default "berth")
//	berth.datadir=PATH      the engine's data dir (default /var/lib/berth)
//	berth.debug=1           debug logging in the engine
type Config struct {
	Port     uint32
	Static   *Static // nil: DHCP
	Disk     string
	Shares   []Share
	HvShares []Share   // berth.sharehv, Type "9p" (hvshare_linux.go)
	DialHost bool      // berth.dial=host (dialhost_linux.go)
	Rosetta  string    // berth.rosetta tag, "" when absent (rosetta_linux.go)
	Time     time.Time // zero: not given
	Seed     []byte
	Hostname string
	DataDir  string
	Debug    bool
}

// Static is a static IPv4 configuration for eth0.
type Static struct {
	Addr    netip.Prefix
	Gateway netip.Addr
	DNS     []netip.Addr
}

// ParseCmdline parses the berth.* parameters of a kernel command line;
// others are ignored. A bad berth.* value is an error naming it.
func ParseCmdline(s string) (Config, error) {
	c := Config{Port: 1024, Disk: "/dev/vda", Hostname: "berth", DataDir: "/var/lib/berth"}
	for _, f := range strings.Fields(s) {
		k, v, _ := strings.Cut(f, "=")
		if !strings.HasPrefix(k, "berth.") {
			continue
		}
		if err := c.set(k, v); err != nil {
			return Config{}, fmt.Errorf("kernel command line %s: %w", f, err)
		}
	}
	return c, nil
}

func (c *Config) set(k, v string) error {
	switch k {
	case "berth.port":
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 {
			return fmt.Errorf("want a port number")
		}
		c.Port = uint32(n)
	case "berth.ip":
		if v == "dhcp" || v == "" {
			c.Static = nil
			return nil
		}
		st, err := parseStatic(v)
		if err != nil {
			return err
		}
		c.Static = st
	case "berth.disk":
		c.Disk = v
	case "berth.share", "berth.share9p":
		sh, err := parseShare(v)
		if err != nil {
			return err
		}
		sh.Type = "virtiofs"
		if k == "berth.share9p" {
			sh.Type = "9p"
		}
		c.Shares = append(c.Shares, sh)
	case "berth.sharehv":
		sh, err := parseHvShare(v)
		if err != nil {
			return err
		}
		c.HvShares = append(c.HvShares, sh)
	case "berth.dial":
		if v != "host" && v != "guest" {
			return fmt.Errorf("want host (the agent dials the host) or guest (the host dials the agent)")
		}
		c.DialHost = v == "host"
	case "berth.rosetta":
		if !validTag(v) {
			return fmt.Errorf("want the virtiofs tag of the Rosetta share")
		}
		c.Rosetta = v
	case "berth.time":
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return fmt.Errorf("want Unix nanoseconds")
		}
		c.Time = time.Unix(0, n)
	case "berth.seed":
		b, err := parseHex(v)
		if err != nil {
			return err
		}
		c.Seed = b
	case "berth.hostname":
		if v == "" || len(v) > 64 {
			return fmt.Errorf("want a hostname of 1 to 64 characters")
		}
		c.Hostname = v
	case "berth.datadir":
		if !strings.HasPrefix(v, "/") {
			return fmt.Errorf("want an absolute path")
		}
		c.DataDir = v
	case "berth.debug":
		c.Debug = v == "1" || v == "true" || v == ""
	}
	return nil
}

func parseStatic(v string) (*Static, error) {
	parts := strings.Split(v, ",")
	p, err := netip.ParsePrefix(parts[0])
	if err != nil {
		return nil, fmt.Errorf("want ADDR/LEN[,gw=IP][,dns=IP]: %v", err)
	}
	st := &Static{Addr: p}
	for _, o := range parts[1:] {
		k, val, _ := strings.Cut(o, "=")
		a, err := netip.ParseAddr(val)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", k, err)
		}
		switch k {
		case "gw":
			st.Gateway = a
		case "dns":
			st.DNS = append(st.DNS, a)
		default:
			return nil, fmt.Errorf("unknown option %q (want gw= or dns=)", k)
		}
	}
	return st, nil
}

func parseShare(v string) (Share, error) {
	tag, p, ok := strings.Cut(v, ":")
	if !ok || tag == "" {
		return Share{}, fmt.Errorf("want TAG:PATH")
	}
	p, err := url.PathUnescape(p)
	if err != nil || !strings.HasPrefix(p, "/") {
		return Share{}, fmt.Errorf("want an absolute, %%-escaped path")
	}
	return Share{Tag: tag, Path: p}, nil
}

// parseHvShare parses ANAME:PATH; the aname goes into 9p mount options,
// so it may not hold ',' or '='.
func parseHvShare(v string) (Share, error) {
	sh, err := parseShare(v)
	if err != nil {
		return Share{}, err
	}
	if !validTag(sh.Tag) {
		return Share{}, fmt.Errorf("share name %q: want letters, digits, '.', '_' or '-'", sh.Tag)
	}
	sh.Type = "9p"
	return sh, nil
}

// validTag reports whether t is a non-empty share name of letters,
// digits, '.', '_' and '-'.
func validTag(t string) bool {
	if t == "" || len(t) > 64 {
		return false
	}
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func parseHex(v string) ([]byte, error) {
	if len(v)%2 != 0 {
		return nil, fmt.Errorf("want hex digits")
	}
	b := make([]byte, len(v)/2)
	for i := range b {
		n, err := strconv.ParseUint(v[2*i:2*i+2], 16, 8)
		if err != nil {
			return nil, fmt.Errorf("want hex digits")
		}
		b[i] = byte(n)
	}
	return b, nil
}
