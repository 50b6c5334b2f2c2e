//go:build linux

package guestinit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// loadModules loads every module listed in the running kernel's
// modules.dep (dependencies first) with finit_module, skipping modules
// already loaded. It returns how many it loaded and the errors of those
// that failed (the others are still loaded).
func loadModules() (int, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return 0, err
	}
	dir := filepath.Join("/lib/modules", unix.ByteSliceToString(u.Release[:]))
	f, err := os.Open(filepath.Join(dir, "modules.dep"))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	order, deps, err := loadOrder(f)
	f.Close()
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	absent := map[string]bool{} // modules whose hardware is not there
	for _, p := range order {
		if _, err := os.Stat("/sys/module/" + moduleName(p)); err == nil {
			continue
		}
		if needsAbsent(deps[p], absent) {
			absent[p] = true
			continue
		}
		err := finit(filepath.Join(dir, p))
		switch {
		case errors.Is(err, unix.ENODEV):
			// Hyper-V modules outside Hyper-V, crc32c-intel without SSE4.2.
			absent[p] = true
		case err != nil:
			errs = append(errs, err)
		default:
			n++
		}
	}
	return n, errors.Join(errs...)
}

func needsAbsent(deps []string, absent map[string]bool) bool {
	for _, d := range deps {
		if absent[d] {
			return true
		}
	}
	return false
}

func finit(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.FinitModule(int(f.Fd()), "", 0); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("load module %s: %w", filepath.Base(p), err)
	}
	return nil
}
