//go:build linux

package guestinit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Rosetta (the vz driver's --rosetta on Apple silicon): macOS shares its
// Rosetta translator as a virtiofs share; init mounts it and registers it
// with binfmt_misc as the interpreter of x86_64 ELF binaries, so amd64
// images run in the arm64 VM.
const (
	rosettaDir    = "/run/berth/rosetta"
	binfmtDir     = "/proc/sys/fs/binfmt_misc"
	binfmtName    = "rosetta"
	rosettaBinary = "rosetta"
)

// rosettaBinfmt is the binfmt_misc registration of interp for x86_64 ELF
// executables and shared objects: the ELF magic, 64-bit little-endian,
// e_type 2 or 3 (the mask drops the low bit), e_machine 0x3e (x86-64) —
// the registration lima and others use. Flags: O opens the binary for
// the interpreter, C computes credentials from the binary (setuid works),
// F opens the interpreter now, so it works in every container's mount
// namespace. binfmt_misc itself decodes the \x escapes.
func rosettaBinfmt(interp string) string {
	const (
		magic = `\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00`
		mask  = `\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff`
	)
	return ":" + binfmtName + ":M::" + magic + ":" + mask + ":" + interp + ":OCF"
}

// setupRosetta mounts the Rosetta share tag and registers its translator;
// tag "" does nothing.
func setupRosetta(tag string) error {
	if tag == "" {
		return nil
	}
	if err := os.MkdirAll(rosettaDir, 0o755); err != nil {
		return err
	}
	if err := unix.Mount(tag, rosettaDir, "virtiofs", unix.MS_RDONLY|unix.MS_NODEV|unix.MS_NOSUID, ""); err != nil {
		return fmt.Errorf("rosetta: mount virtiofs share %q on %s: %w", tag, rosettaDir, err)
	}
	interp := filepath.Join(rosettaDir, rosettaBinary)
	if _, err := os.Stat(interp); err != nil {
		return fmt.Errorf("rosetta: the share has no translator: %w", err)
	}
	if err := unix.Mount("binfmt_misc", binfmtDir, "binfmt_misc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil && !errors.Is(err, unix.EBUSY) {
		return fmt.Errorf("rosetta: mount binfmt_misc (is the binfmt_misc module in the VM image?): %w", err)
	}
	if _, err := os.Stat(filepath.Join(binfmtDir, binfmtName)); err == nil {
		return nil // registered by an earlier boot step
	}
	if err := os.WriteFile(filepath.Join(binfmtDir, "register"), []byte(rosettaBinfmt(interp)), 0); err != nil {
		return fmt.Errorf("rosetta: register x86_64 binaries with binfmt_misc: %w", err)
	}
	logf("rosetta: x86_64 binaries run through %s", interp)
	return nil
}
