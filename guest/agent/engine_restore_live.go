//go:build linux

package agent

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// keepLiveNetns re-binds the network namespace of a container whose
// process outlived the agent (an agent restart, not a machine restart) at
// path, and reports whether it did. The namespace bind mounts of the old
// agent may be gone with its mount namespace (the native driver), while
// the container still runs in that namespace: it must be kept, not
// rebuilt. dir is the container's runtime dir (state.json records the pid).
func keepLiveNetns(dir, path string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		return false
	}
	var st struct {
		Pid int `json:"pid"`
	}
	if json.Unmarshal(b, &st) != nil || st.Pid <= 0 {
		return false
	}
	src := fmt.Sprintf("/proc/%d/ns/net", st.Pid)
	var ns, self unix.Stat_t
	if unix.Stat(src, &ns) != nil || unix.Stat("/proc/self/ns/net", &self) != nil {
		return false
	}
	if ns.Ino == self.Ino && ns.Dev == self.Dev {
		return false // a reused pid of a process in the agent's namespace
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return false
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o400)
	if err != nil {
		return false
	}
	f.Close()
	return unix.Mount(src, path, "", unix.MS_BIND, "") == nil
}
