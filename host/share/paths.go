package share

import (
	"fmt"
	"path"
	"strings"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/internal/errkind"
)

// Host operating systems, as in runtime.GOOS.
const (
	Darwin  = "darwin"
	Windows = "windows"
	Linux   = "linux"
)

// hostPath is an absolute, cleaned host path split so that every OS's
// paths compare the same way: vol is "" on macOS and Linux and the upper
// case drive ("C:") on Windows; elems are the names below the root.
type hostPath struct {
	vol   string
	elems []string
}

// String formats p in the host OS's own form.
func (p hostPath) String(goos string) string {
	if goos == Windows {
		return p.vol + `\` + strings.Join(p.elems, `\`)
	}
	return "/" + strings.Join(p.elems, "/")
}

// clean resolves "." and ".." (".." at the root stays at the root, as the
// OS does) and drops empty names.
func clean(elems []string) []string {
	out := make([]string, 0, len(elems))
	for _, e := range elems {
		switch e {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, e)
		}
	}
	return out
}

// splitElems splits a path's part below its root on the OS's separators.
func splitElems(goos, s string) []string {
	if goos == Windows {
		return strings.FieldsFunc(s, func(r rune) bool { return r == '\\' || r == '/' })
	}
	return strings.Split(s, "/")
}

// isDrive reports whether s starts with a drive letter and a colon.
func isDrive(s string) bool {
	if len(s) < 2 || s[1] != ':' {
		return false
	}
	c := s[0] | 0x20
	return c >= 'a' && c <= 'z'
}

// isSep reports whether c separates path names on goos.
func isSep(goos string, c byte) bool { return c == '/' || (goos == Windows && c == '\\') }

// parseAbs parses an absolute host path. ok is false for a relative path.
func parseAbs(goos, s string) (p hostPath, ok bool, err error) {
	if goos != Windows {
		if !strings.HasPrefix(s, "/") {
			return hostPath{}, false, nil
		}
		return hostPath{elems: clean(strings.Split(s, "/"))}, true, nil
	}
	switch {
	case strings.HasPrefix(s, `\\?\`) || strings.HasPrefix(s, `//?/`):
		rest := s[4:]
		if isDrive(rest) && (len(rest) == 2 || isSep(goos, rest[2])) {
			return parseAbs(goos, rest)
		}
		return hostPath{}, false, errkind.New(errdefs.ErrInvalidArgument, "path %q: only drive paths (C:\\...) can be shared; UNC and device paths cannot", s)
	case strings.HasPrefix(s, `\\`) || strings.HasPrefix(s, `//`):
		return hostPath{}, false, errkind.New(errdefs.ErrInvalidArgument,
			"path %q is a network (UNC) or device path, which cannot be shared into the machine; copy the files to a local drive or map the share to a drive letter (net use Z: \\\\server\\share) and use Z:\\...", s)
	case isDrive(s):
		if len(s) > 2 && !isSep(goos, s[2]) {
			return hostPath{}, false, errkind.New(errdefs.ErrInvalidArgument, "path %q is relative to the current directory of drive %s; write it in full (%s\\%s)", s, strings.ToUpper(s[:2]), strings.ToUpper(s[:2]), s[2:])
		}
		return hostPath{vol: strings.ToUpper(s[:2]), elems: clean(splitElems(goos, s[2:]))}, true, nil
	}
	return hostPath{}, false, nil
}

// mustAbs parses a path that the caller promises is absolute (the working
// or home directory, a share).
func mustAbs(goos, what, s string) (hostPath, error) {
	p, ok, err := parseAbs(goos, s)
	if err != nil {
		return hostPath{}, err
	}
	if !ok {
		return hostPath{}, errkind.New(errdefs.ErrInvalidArgument, "%s %q is not an absolute path", what, s)
	}
	return p, nil
}

// join appends a relative path to p.
func (p hostPath) join(goos, rel string) hostPath {
	elems := append(append([]string(nil), p.elems...), splitElems(goos, rel)...)
	return hostPath{vol: p.vol, elems: clean(elems)}
}

// under reports whether p is base or inside it, and returns the names
// below base. Names compare without case on macOS and Windows, whose
// default file systems ignore case.
func (p hostPath) under(goos string, base hostPath) ([]string, bool) {
	eq := func(a, b string) bool { return a == b }
	if goos != Linux {
		eq = strings.EqualFold
	}
	if !eq(p.vol, base.vol) || len(p.elems) < len(base.elems) {
		return nil, false
	}
	for i, e := range base.elems {
		if !eq(p.elems[i], e) {
			return nil, false
		}
	}
	return p.elems[len(base.elems):], true
}

// vmJoin appends names to a VM (Linux) path.
func vmJoin(base string, elems []string) string {
	return path.Join(append([]string{base}, elems...)...)
}

// darwinAliases are macOS's top-level symlinks into /private, resolved
// even without EvalSymlinks so that /tmp/x finds the /private/tmp share.
var darwinAliases = []string{"tmp", "var", "etc"}

func unalias(goos string, p hostPath) hostPath {
	if goos != Darwin || len(p.elems) == 0 {
		return p
	}
	for _, a := range darwinAliases {
		if p.elems[0] == a {
			return hostPath{elems: append([]string{"private"}, p.elems...)}
		}
	}
	return p
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
