package volume

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

func mountVolume(v *Volume) error {
	var flags uintptr
	data := v.Options["o"]
	if v.Options["type"] == "none" || hasOpt(data, "bind") {
		flags |= unix.MS_BIND
	}
	if err := unix.Mount(v.Options["device"], v.Mountpoint, v.Options["type"], flags, data); err != nil {
		return fmt.Errorf("mount %s (type %s, o=%q) on %s: %w", v.Options["device"], v.Options["type"], data, v.Mountpoint, err)
	}
	return nil
}

func unmountVolume(v *Volume) error {
	err := unix.Unmount(v.Mountpoint, unix.MNT_DETACH)
	if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount %s: %w", v.Mountpoint, err)
	}
	return nil
}

func hasOpt(data, opt string) bool {
	for len(data) > 0 {
		i := 0
		for i < len(data) && data[i] != ',' {
			i++
		}
		if data[:i] == opt {
			return true
		}
		if i == len(data) {
			break
		}
		data = data[i+1:]
	}
	return false
}
