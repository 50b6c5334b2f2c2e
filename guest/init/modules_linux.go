//go:build linux

package guestinit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"

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
	return loadParallel(dir, order, deps)
}

// loadParallel loads the modules in order, each as soon as its
// dependencies are in, up to one load per CPU at a time (finit_module
// relocates and links each module: on a slow, emulated CPU that is the
// cost). Modules that report ENODEV (Hyper-V outside Hyper-V, crc32c-intel
// without SSE4.2) count as absent, and so do the modules that need them.
func loadParallel(dir string, order []string, deps map[string][]string) (int, error) {
	type result struct{ ok bool }
	done := map[string]chan struct{}{}
	state := map[string]*result{}
	for _, p := range order {
		done[p] = make(chan struct{})
		state[p] = &result{}
	}
	var (
		mu   sync.Mutex
		n    int
		errs []error
		wg   sync.WaitGroup
	)
	sem := make(chan struct{}, runtime.NumCPU())
	for _, p := range order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[p])
			for _, d := range deps[p] {
				if ch, ok := done[d]; ok {
					<-ch
					if !state[d].ok {
						return
					}
				}
			}
			if _, err := os.Stat("/sys/module/" + moduleName(p)); err == nil {
				state[p].ok = true
				return
			}
			sem <- struct{}{}
			err := finit(filepath.Join(dir, p))
			<-sem
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, unix.ENODEV):
			case err != nil:
				errs = append(errs, err)
			default:
				state[p].ok = true
				n++
			}
		}()
	}
	wg.Wait()
	return n, errors.Join(errs...)
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
