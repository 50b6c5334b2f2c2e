//go:build linux

package guestinit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

	"golang.org/x/sys/unix"
)

// isExt4 reports whether dev holds an ext2/3/4 superblock (magic 0xEF53
// at byte 1080).
func isExt4(dev string) (bool, error) {
	f, err := os.Open(dev)
	if err != nil {
		return false, err
	}
	defer f.Close()
	b := make([]byte, 2)
	if _, err := f.ReadAt(b, 1080); err != nil {
		return false, err
	}
	return binary.LittleEndian.Uint16(b) == 0xEF53, nil
}

// blankProbe is how much of a disk's start must be zero for it to count as
// never formatted: it covers the signatures of the usual file systems,
// partition tables and LUKS (btrfs's is at 64 KiB).
const blankProbe = 128 << 10

// isBlank reports whether the first blankProbe bytes of dev are all zero,
// as they are on a new sparse disk file.
func isBlank(dev string) (bool, error) {
	f, err := os.Open(dev)
	if err != nil {
		return false, err
	}
	defer f.Close()
	b := make([]byte, blankProbe)
	n, err := f.ReadAt(b, 0)
	if err != nil && n == 0 {
		return false, err
	}
	for _, c := range b[:n] {
		if c != 0 {
			return false, nil
		}
	}
	return true, nil
}

// errNoDisk says the machine has no data disk at all (the engine then keeps
// its state in memory); every other mountDataDisk error is fatal.
var errNoDisk = errors.New("no data disk")

// waitDevice waits briefly for dev to appear (virtio_blk probes
// asynchronously after its module loads).
func waitDevice(dev string, d time.Duration) bool {
	for end := time.Now().Add(d); ; {
		if _, err := os.Stat(dev); err == nil {
			return true
		}
		if time.Now().After(end) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// mountDataDisk formats dev as ext4 when it is blank (first boot; no
// discard pass, a new disk file is all holes) and mounts it at dir with
// discard, so deleted data gives space back to the host's sparse disk file.
// A disk holding anything else is never formatted: that is someone's data.
// Without a disk (errNoDisk) the data dir stays on the root tmpfs and state
// is lost at power off.
func mountDataDisk(r *reaper, dev, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if !waitDevice(dev, 2*time.Second) {
		return fmt.Errorf("data disk %s not found; engine state lives in memory until power off: %w", dev, errNoDisk)
	}
	ok, err := isExt4(dev)
	if err != nil {
		return fmt.Errorf("data disk %s: %w", dev, err)
	}
	if !ok {
		blank, err := isBlank(dev)
		if err != nil {
			return fmt.Errorf("data disk %s: %w", dev, err)
		}
		if !blank {
			return fmt.Errorf("data disk %s holds data that is not an ext4 file system; refusing to format it "+
				"(check the machine's disk file, or remove the machine and create it again)", dev)
		}
		logf("formatting data disk %s (ext4, first boot)", dev)
		start := time.Now()
		defer func() { logf("formatted %s in %s uptime=%s", dev, time.Since(start).Round(time.Millisecond), uptime()) }()
		cmd := exec.Command("/sbin/mkfs.ext4", "-q", "-F", "-L", "berth-data", "-E", "nodiscard,lazy_itable_init=1,lazy_journal_init=1", dev)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stdout
		ws, err := r.run(cmd)
		if err != nil {
			return fmt.Errorf("format %s: %w", dev, err)
		}
		if ws.ExitStatus() != 0 {
			return fmt.Errorf("format %s: mkfs.ext4 exited with %d", dev, ws.ExitStatus())
		}
	}
	err = unix.Mount(dev, dir, "ext4", unix.MS_NOATIME, "discard")
	if errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("data disk %s holds an ext4 signature but does not mount (corrupt?): %w", dev, err)
	}
	if err != nil {
		return fmt.Errorf("mount data disk %s on %s: %w", dev, dir, err)
	}
	return nil
}
