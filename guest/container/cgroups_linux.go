package container

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

const cgroupRoot = "/sys/fs/cgroup"

// cgroupMounts lists the mount points of cgroup (v1) and cgroup2 file systems.
func cgroupMounts() (v1, v2 []string, err error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, nil, fmt.Errorf("read mountinfo: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		for i, x := range fields {
			if x != "-" || i+1 >= len(fields) || i < 5 {
				continue
			}
			switch fields[i+1] {
			case "cgroup":
				v1 = append(v1, fields[4])
			case "cgroup2":
				v2 = append(v2, fields[4])
			}
			break
		}
	}
	return v1, v2, sc.Err()
}

// HybridCgroups reports whether this machine mounts cgroup v1 controllers
// and a cgroup2 hierarchy side by side, which crun refuses; containers then
// run with the cgroup2 mount hidden (the shim gets a private mount
// namespace for that), i.e. on cgroup v1.
func HybridCgroups() bool {
	v1, v2, err := cgroupMounts()
	return err == nil && len(v1) > 0 && len(v2) > 0
}

// unmountHybridCgroup2 hides cgroup2 mounts in the shim's private mount
// namespace when cgroup v1 is also mounted. The shim is started in a new
// mount namespace (private propagation) only in that case; outside a
// hybrid layout this is a no-op.
func unmountHybridCgroup2() error {
	if os.Getenv(envPrivateMounts) != "1" {
		return nil
	}
	v1, v2, err := cgroupMounts()
	if err != nil || len(v1) == 0 {
		return err
	}
	for _, m := range v2 {
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil {
			return fmt.Errorf("hide cgroup2 mount %s from crun: %w", m, err)
		}
	}
	return nil
}

// envPrivateMounts tells the shim it runs in its own mount namespace.
const envPrivateMounts = "BERTH_SHIM_PRIVATE_MOUNTS"

// cgroupV2 reports whether /sys/fs/cgroup is the unified hierarchy.
func cgroupV2() bool {
	var st unix.Statfs_t
	return unix.Statfs(cgroupRoot, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
}

// cgroupFile is a controller's file for the container's cgroup.
func cgroupFile(v2 bool, controller, cgPath, name string) string {
	if v2 {
		return filepath.Join(cgroupRoot, cgPath, name)
	}
	return filepath.Join(cgroupRoot, controller, cgPath, name)
}

func readUint(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return 0, nil
	}
	return strconv.ParseUint(s, 10, 64)
}

// readKeyed returns the value of key in a "key value" file (memory.stat,
// memory.events, cpu.stat, memory.oom_control).
func readKeyed(path, key string) (uint64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, " ")
		if ok && k == key {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// oomKilled reports whether the kernel OOM-killed a process in the cgroup.
func oomKilled(cgPath string) bool {
	if cgroupV2() {
		n, _ := readKeyed(cgroupFile(true, "", cgPath, "memory.events"), "oom_kill")
		return n > 0
	}
	n, _ := readKeyed(cgroupFile(false, "memory", cgPath, "memory.oom_control"), "oom_kill")
	return n > 0
}
