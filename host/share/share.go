// Package share translates host paths into the paths a machine's VM sees
// them at: the host folders a machine shares (virtiofs on macOS, Plan 9 on
// Windows, 9p/virtiofs with qemu), the defaults of each host OS, and the
// resolution of a -v bind source (relative paths, ~, Windows drive paths,
// symlinks) to its VM path, with a clear error for a folder outside every
// share.
//
// Everything here is pure: the host OS, working and home directories and
// the symlink resolver are inputs, so macOS and Windows paths are tested on
// any OS.
package share

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/internal/errkind"
)

// Share is a host folder a machine mounts in its VM.
type Share struct {
	// HostPath is an absolute host path in the host OS's form ("/Users/me",
	// `C:\src`), or AllDrives.
	HostPath string
	// VMPath is where the VM mounts it (an absolute Linux path). For
	// AllDrives it is the parent of one directory per drive letter.
	VMPath string
}

// AllDrives as a Share's HostPath on Windows shares every drive X: at
// VMPath/x (lower case), so C:\src is /mnt/host/c/src by default.
const AllDrives = `*:\`

// WindowsDrivesRoot is where the default Windows share mounts the drives.
const WindowsDrivesRoot = "/mnt/host"

// DefaultShares returns the shares a new machine gets on goos:
//
//   - darwin: the user's home, /Volumes, /private/tmp and
//     /private/var/folders (the temp dirs; /tmp and /var/folders are
//     symlinks to them), each at the same path in the VM;
//   - windows: every drive at /mnt/host/<letter>;
//   - linux: the whole file system at the same path (the native driver,
//     where the agent sees the host's files directly).
func DefaultShares(goos, home string) []Share {
	switch goos {
	case Darwin:
		var s []Share
		if home != "" {
			s = append(s, Share{HostPath: home, VMPath: home})
		}
		return append(s,
			Share{HostPath: "/Volumes", VMPath: "/Volumes"},
			Share{HostPath: "/private/tmp", VMPath: "/private/tmp"},
			Share{HostPath: "/private/var/folders", VMPath: "/private/var/folders"})
	case Windows:
		return []Share{{HostPath: AllDrives, VMPath: WindowsDrivesRoot}}
	default:
		return []Share{{HostPath: "/", VMPath: "/"}}
	}
}

// Resolver translates bind sources for one machine.
type Resolver struct {
	// OS is the host OS: Darwin, Windows or Linux.
	OS string
	// WorkDir resolves relative paths; HomeDir resolves "~". Both absolute.
	WorkDir, HomeDir string
	// Shares are the machine's shares; nil means DefaultShares(OS, HomeDir).
	Shares []Share
	// EvalSymlinks, when set, returns the path with symlinks resolved
	// (filepath.EvalSymlinks on the host); the path a share must contain
	// is then the real one. It is only called for absolute paths, and is
	// retried on the parent of a path that does not exist yet.
	EvalSymlinks func(string) (string, error)
	// Machine names the machine in errors ("" for the default machine).
	Machine string
}

// Translate returns the VM path of the host path src as a user wrote it
// for -v or --mount: absolute, relative to WorkDir ("src", "./src", "."),
// under "~", or on Windows a drive path (C:\src, c:/src), an MSYS path
// (/c/src) or a path already inside the VM's drive mounts
// (/mnt/host/c/src). A path outside every share is an error that names the
// shares and says how to add one (errdefs.ErrInvalidArgument).
func (r Resolver) Translate(src string) (string, error) {
	if src == "" {
		return "", errkind.New(errdefs.ErrInvalidArgument, "empty bind source path")
	}
	shares := r.Shares
	if shares == nil {
		shares = DefaultShares(r.OS, r.HomeDir)
	}
	if r.OS == Windows {
		if vm, ok := vmPathOnWindows(src, shares); ok {
			return vm, nil
		}
	}
	p, err := r.absolute(src)
	if err != nil {
		return "", err
	}
	real, err := r.evalSymlinks(p)
	if err != nil {
		return "", err
	}
	if vm, ok := r.lookup(shares, real); ok {
		return vm, nil
	}
	return "", r.outside(src, p, real, shares)
}

// absolute resolves src against the home and working directories.
func (r Resolver) absolute(src string) (hostPath, error) {
	goos := r.OS
	if src == "~" || strings.HasPrefix(src, "~/") || (goos == Windows && strings.HasPrefix(src, `~\`)) {
		home, err := mustAbs(goos, "home directory", r.HomeDir)
		if err != nil {
			return hostPath{}, err
		}
		return home.join(goos, src[1:]), nil
	}
	if strings.HasPrefix(src, "~") {
		return hostPath{}, errkind.New(errdefs.ErrInvalidArgument, "bind source %q: ~user paths are not supported; write the full path", src)
	}
	if p, ok, err := parseAbs(goos, src); err != nil || ok {
		return unalias(goos, p), err
	}
	wd, err := mustAbs(goos, "working directory", r.WorkDir)
	if err != nil {
		return hostPath{}, err
	}
	if goos == Windows && src[0] == '\\' {
		// \src: the root of the working directory's drive.
		return hostPath{vol: wd.vol, elems: clean(splitElems(goos, src))}, nil
	}
	if goos == Windows && src[0] == '/' {
		// /c/src is an MSYS (Git Bash) drive path; any other /path more
		// likely means a path inside the VM than one on C:.
		elems := clean(strings.Split(src, "/"))
		if len(elems) > 0 && len(elems[0]) == 1 && isDrive(elems[0]+":") {
			return hostPath{vol: strings.ToUpper(elems[0]) + ":", elems: elems[1:]}, nil
		}
		return hostPath{}, errkind.New(errdefs.ErrInvalidArgument,
			"bind source %q is not a Windows path: use a drive path such as C:\\src or .\\src", src)
	}
	return unalias(goos, wd.join(goos, src)), nil
}

// evalSymlinks resolves symlinks in p with r.EvalSymlinks, resolving the
// longest existing parent when p itself does not exist yet (docker creates
// a missing bind source directory).
func (r Resolver) evalSymlinks(p hostPath) (hostPath, error) {
	if r.EvalSymlinks == nil {
		return p, nil
	}
	for n := len(p.elems); n >= 0; n-- {
		head := hostPath{vol: p.vol, elems: p.elems[:n]}
		real, err := r.EvalSymlinks(head.String(r.OS))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return hostPath{}, fmt.Errorf("bind source %s: %w", p.String(r.OS), err)
		}
		rp, ok, err := parseAbs(r.OS, real)
		if err != nil || !ok {
			return p, nil // a link to something unshareable: judge the path as written
		}
		return unalias(r.OS, rp.join(r.OS, strings.Join(p.elems[n:], "/"))), nil
	}
	return p, nil
}

// lookup finds the deepest share that contains p.
func (r Resolver) lookup(shares []Share, p hostPath) (string, bool) {
	best, bestLen := "", -1
	for _, s := range shares {
		if s.HostPath == AllDrives {
			if r.OS == Windows && p.vol != "" && bestLen < 0 {
				best, bestLen = vmJoin(s.VMPath, append([]string{strings.ToLower(p.vol[:1])}, p.elems...)), 0
			}
			continue
		}
		base, ok, err := parseAbs(r.OS, s.HostPath)
		if err != nil || !ok {
			continue
		}
		base = unalias(r.OS, base)
		rest, ok := p.under(r.OS, base)
		if ok && len(base.elems) > bestLen {
			best, bestLen = vmJoin(s.VMPath, rest), len(base.elems)
		}
	}
	return best, bestLen >= 0
}

// vmPathOnWindows accepts a Linux-style path a Windows user may write
// for a folder already under the VM's mount of a share (/mnt/host/c/src).
func vmPathOnWindows(src string, shares []Share) (string, bool) {
	if !strings.HasPrefix(src, "/") || strings.HasPrefix(src, "//") {
		return "", false
	}
	p := hostPath{elems: clean(strings.Split(src, "/"))}
	for _, s := range shares {
		if base, ok, _ := parseAbs(Linux, s.VMPath); ok && len(base.elems) > 0 {
			if _, in := p.under(Linux, base); in {
				return p.String(Linux), true
			}
		}
	}
	return "", false
}

// outside is the error for a path no share contains.
func (r Resolver) outside(src string, p, real hostPath, shares []Share) error {
	var names []string
	for _, s := range shares {
		if s.HostPath == AllDrives {
			names = append(names, "every drive (X:\\ at "+s.VMPath+"/x)")
			continue
		}
		names = append(names, s.HostPath)
	}
	what := fmt.Sprintf("%q", src)
	if ps, rs := p.String(r.OS), real.String(r.OS); ps != rs {
		what += " (" + ps + ", a link to " + rs + ")"
	} else if ps != src {
		what += " (" + ps + ")"
	}
	machine, init := "the machine", "berth machine init"
	if r.Machine != "" && r.Machine != "default" {
		machine, init = "machine "+r.Machine, "berth machine init "+r.Machine
	}
	return errkind.New(errdefs.ErrInvalidArgument,
		"bind source %s is not in a folder shared with %s (shared: %s); share the folder when creating a machine: %s --share %s",
		what, machine, strings.Join(names, ", "), init, p.String(r.OS))
}
