package share

import (
	"path"
	"regexp"
	"strings"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/internal/errkind"
)

// Volume is one -v/--volume value split into its parts.
type Volume struct {
	// Source is a host path (Bind), a volume name, or "" for an anonymous
	// volume.
	Source string
	// Target is the absolute path in the container.
	Target string
	// Mode is the comma-separated options ("ro", "rw,z", ...), or "".
	Mode string
	// Bind is true when Source is a host path: it starts with ".", "/" or
	// "~", or on Windows is a drive (C:\x, c:/x) or \\ path. Otherwise
	// Source names a volume, as in docker ("src:/app" is the volume "src").
	Bind bool
}

// String is v in docker's HostConfig.Binds form.
func (v Volume) String() string {
	s := v.Target
	if v.Source != "" {
		s = v.Source + ":" + s
	}
	if v.Mode != "" {
		s += ":" + v.Mode
	}
	return s
}

// volumeModes are the words a -v mode may combine (docker's Linux parser).
var volumeModes = map[string]string{
	"ro": "rw", "rw": "rw", "z": "label", "Z": "label", "nocopy": "copy",
	"shared": "prop", "rshared": "prop", "slave": "prop", "rslave": "prop", "private": "prop", "rprivate": "prop",
	"consistent": "consistency", "cached": "consistency", "delegated": "consistency",
}

// volumeName is docker's rule for local volume names.
var volumeName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// ParseVolume splits a -v value written on a goos host: "/ctr" (anonymous
// volume), "name:/ctr[:mode]", "/host:/ctr[:mode]", "./rel:/ctr", and on
// Windows "C:\src:/app:ro" (the drive's colon is not a separator). Errors
// are docker's "invalid volume specification" with the reason.
func ParseVolume(goos, spec string) (Volume, error) {
	bad := func(why string, args ...any) (Volume, error) {
		return Volume{}, errkind.New(errdefs.ErrInvalidArgument, "invalid volume specification: '%s'"+why, append([]any{spec}, args...)...)
	}
	if strings.TrimSpace(spec) == "" {
		return bad(": empty spec")
	}
	drive, rest := "", spec
	if goos == Windows && isDrive(spec) && len(spec) > 2 && isSep(goos, spec[2]) {
		drive, rest = spec[:2], spec[2:]
	}
	parts := strings.Split(rest, ":")
	parts[0] = drive + parts[0]
	var v Volume
	switch len(parts) {
	case 1:
		v.Target = parts[0]
	case 2:
		v.Source, v.Target = parts[0], parts[1]
	case 3:
		v.Source, v.Target, v.Mode = parts[0], parts[1], parts[2]
	default:
		return bad(": too many colons")
	}
	for _, p := range parts {
		if p == "" {
			return bad(": empty section between colons")
		}
	}
	if !path.IsAbs(v.Target) {
		return bad(": invalid mount path: '%s' mount path must be absolute", v.Target)
	}
	if v.Target == "/" {
		return bad(": invalid mount path: '/' cannot be the destination")
	}
	if err := checkMode(v.Mode); err != nil {
		return bad(": %v", err)
	}
	v.Bind = v.Source != "" && isPathSource(goos, v.Source)
	if v.Source != "" && !v.Bind && !volumeName.MatchString(v.Source) {
		return bad(": %q includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path", v.Source)
	}
	return v, nil
}

// checkMode allows each kind of option once.
func checkMode(mode string) error {
	if mode == "" {
		return nil
	}
	seen := map[string]bool{}
	for _, m := range strings.Split(mode, ",") {
		kind, ok := volumeModes[m]
		if !ok || seen[kind] {
			return errkind.New(errdefs.ErrInvalidArgument, "invalid mode: %s", mode)
		}
		seen[kind] = true
	}
	return nil
}

// isPathSource reports whether a -v source is a host path rather than a
// volume name.
func isPathSource(goos, s string) bool {
	switch s[0] {
	case '.', '/', '~':
		return true
	}
	return goos == Windows && (s[0] == '\\' || isDrive(s))
}

// TranslateVolume parses a -v value and, for a bind, replaces its source
// with the VM path (see Translate); volumes are returned unchanged. The
// result's String() is what HostConfig.Binds should carry.
func (r Resolver) TranslateVolume(spec string) (Volume, error) {
	v, err := ParseVolume(r.OS, spec)
	if err != nil || !v.Bind {
		return v, err
	}
	if v.Source, err = r.Translate(v.Source); err != nil {
		return Volume{}, err
	}
	return v, nil
}
