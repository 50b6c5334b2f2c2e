package volume

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/containerd/errdefs"
)

// validateOptions checks the local driver's options: none, or type and
// device (and optionally o) as for mount(8).
func validateOptions(opts map[string]string) error {
	if len(opts) == 0 {
		return nil
	}
	var unknown []string
	for k := range opts {
		switch k {
		case "type", "device", "o", "size":
		default:
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("invalid option(s) %s for the local driver; use type, device and o: %w", strings.Join(unknown, ", "), errdefs.ErrInvalidArgument)
	}
	if opts["type"] == "" || opts["device"] == "" {
		if _, onlySize := opts["size"]; !(onlySize && len(opts) == 1) {
			return fmt.Errorf("the local driver needs both type and device options to mount: %w", errdefs.ErrInvalidArgument)
		}
	}
	return nil
}

// mounter counts the containers using each mounted volume, so that a
// volume with mount options is mounted on first use and unmounted after the
// last.
type mounter struct {
	mu   sync.Mutex
	refs map[string]int
}

func newMounter() *mounter { return &mounter{refs: map[string]int{}} }

// needsMount reports whether v is mounted from options rather than a plain
// directory.
func needsMount(v *Volume) bool { return v.Options["type"] != "" && v.Options["device"] != "" }

// Mount makes the volume's data ready for a container and returns the path
// to bind into it. Each Mount must be paired with an Unmount.
func (s *Store) Mount(v *Volume) (string, error) {
	if !needsMount(v) {
		return v.Mountpoint, nil
	}
	s.mnt.mu.Lock()
	defer s.mnt.mu.Unlock()
	if s.mnt.refs[v.Name] == 0 {
		if err := mountVolume(v); err != nil {
			return "", fmt.Errorf("mount volume %s: %w", v.Name, err)
		}
	}
	s.mnt.refs[v.Name]++
	return v.Mountpoint, nil
}

// Unmount releases one Mount of v.
func (s *Store) Unmount(v *Volume) error {
	if !needsMount(v) {
		return nil
	}
	s.mnt.mu.Lock()
	defer s.mnt.mu.Unlock()
	if s.mnt.refs[v.Name] == 0 {
		return nil
	}
	s.mnt.refs[v.Name]--
	if s.mnt.refs[v.Name] > 0 {
		return nil
	}
	delete(s.mnt.refs, v.Name)
	return unmountVolume(v)
}

func (m *mounter) forceUnmount(v *Volume) error {
	if !needsMount(v) {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.refs, v.Name)
	return unmountVolume(v)
}
