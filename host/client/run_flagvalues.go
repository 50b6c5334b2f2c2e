package client

import (
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"strings"

	units "github.com/docker/go-units"
)

// The pflag.Value types below validate at parse time, so that a bad value
// is reported the way docker reports it ("invalid argument "12x" for
// "-m, --memory" flag: invalid size: '12x'") with exit status 125.

// memBytes is a size in bytes given as "512m", "1g", ...
type memBytes int64

func (m *memBytes) Set(v string) error {
	n, err := units.RAMInBytes(v)
	*m = memBytes(n)
	return err
}
func (m *memBytes) String() string {
	if *m == 0 {
		return ""
	}
	return units.BytesSize(float64(*m))
}
func (m *memBytes) Type() string { return "bytes" }

// memSwapBytes is memBytes that also accepts -1 (unlimited swap).
type memSwapBytes int64

func (m *memSwapBytes) Set(v string) error {
	if v == "-1" {
		*m = -1
		return nil
	}
	n, err := units.RAMInBytes(v)
	*m = memSwapBytes(n)
	return err
}
func (m *memSwapBytes) String() string {
	if *m == 0 {
		return ""
	}
	return units.BytesSize(float64(*m))
}
func (m *memSwapBytes) Type() string { return "bytes" }

// nanoCPUs is a number of CPUs ("1.5") in units of 1e-9 CPUs.
type nanoCPUs int64

func (c *nanoCPUs) Set(v string) error {
	r, ok := new(big.Rat).SetString(v)
	if !ok {
		return fmt.Errorf("failed to parse %v as a rational number", v)
	}
	n := r.Mul(r, big.NewRat(1e9, 1))
	if !n.IsInt() {
		return fmt.Errorf("value is too precise")
	}
	*c = nanoCPUs(n.Num().Int64())
	return nil
}
func (c *nanoCPUs) String() string {
	if *c == 0 {
		return ""
	}
	return big.NewRat(int64(*c), 1e9).FloatString(3)
}
func (c *nanoCPUs) Type() string { return "decimal" }

// listValue is a repeatable string flag whose items are checked (and
// possibly rewritten) by validate.
type listValue struct {
	values   []string
	validate func(string) (string, error)
	typ      string
}

func newListValue(typ string, validate func(string) (string, error)) *listValue {
	return &listValue{validate: validate, typ: typ}
}

func (l *listValue) Set(v string) error {
	if l.validate != nil {
		var err error
		if v, err = l.validate(v); err != nil {
			return err
		}
	}
	l.values = append(l.values, v)
	return nil
}
func (l *listValue) String() string {
	if len(l.values) == 0 {
		return ""
	}
	return "[" + strings.Join(l.values, " ") + "]"
}
func (l *listValue) Type() string {
	if l.typ == "" {
		return "list"
	}
	return l.typ
}

// ulimitList is --ulimit name=soft[:hard].
type ulimitList struct{ values []*units.Ulimit }

func (u *ulimitList) Set(v string) error {
	l, err := units.ParseUlimit(v)
	if err != nil {
		return err
	}
	for i, x := range u.values {
		if x.Name == l.Name {
			u.values[i] = l
			return nil
		}
	}
	u.values = append(u.values, l)
	return nil
}
func (u *ulimitList) String() string {
	s := make([]string, len(u.values))
	for i, l := range u.values {
		s[i] = l.String()
	}
	if len(s) == 0 {
		return ""
	}
	return "[" + strings.Join(s, " ") + "]"
}
func (u *ulimitList) Type() string { return "ulimit" }

// validateAttach accepts docker's stream names for -a.
func validateAttach(v string) (string, error) {
	s := strings.ToLower(v)
	switch s {
	case "stdin", "stdout", "stderr":
		return s, nil
	}
	return v, errors.New("valid streams are STDIN, STDOUT and STDERR")
}

// validateIP accepts an IPv4 or IPv6 address (--dns).
func validateIP(v string) (string, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(v))
	if err != nil {
		return "", fmt.Errorf("IP address is not correctly formatted: %s", v)
	}
	return a.String(), nil
}

// validateExtraHost accepts "host:ip" and "host=ip" where ip may be
// "host-gateway", and returns docker's "host:ip" form.
func validateExtraHost(v string) (string, error) {
	k, ip, ok := strings.Cut(v, "=")
	if !ok {
		k, ip, ok = strings.Cut(v, ":")
	}
	if !ok || k == "" {
		return "", fmt.Errorf("bad format for add-host: %q", v)
	}
	ip = strings.TrimSuffix(strings.TrimPrefix(ip, "["), "]")
	if ip != "host-gateway" {
		if _, err := netip.ParseAddr(ip); err != nil {
			return "", fmt.Errorf("invalid IP address in add-host: %q", ip)
		}
	}
	return k + ":" + ip, nil
}

// validateLabel rejects an empty label key.
func validateLabel(v string) (string, error) {
	if strings.HasPrefix(v, "=") || strings.TrimSpace(v) == "" {
		return "", fmt.Errorf("invalid label '%s': empty name", v)
	}
	return v, nil
}
