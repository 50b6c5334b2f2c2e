package container

import (
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// maxSockPath is the longest path bind/connect take (sun_path is 108 bytes,
// NUL included).
const maxSockPath = 107

// withSocketPath calls fn with a path for the unix socket at path that fits
// in sun_path: the path itself when short enough, else
// /proc/self/fd/N/<base> through an O_PATH descriptor of its directory, which
// bind and connect resolve like the long path. Data dirs under a user's home
// easily exceed 108 bytes once a 64-hex container id is added.
func withSocketPath(path string, fn func(string) error) error {
	if len(path) <= maxSockPath {
		return fn(path)
	}
	fd, err := unix.Open(filepath.Dir(path), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open socket dir: %w", err)
	}
	defer unix.Close(fd)
	return fn(fmt.Sprintf("/proc/self/fd/%d/%s", fd, filepath.Base(path)))
}
