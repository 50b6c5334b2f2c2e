//go:build linux

package guestinit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// moduleLoader loads kernel modules from the running kernel's
// /lib/modules tree with finit_module, each after the modules it depends
// on, up to one load per CPU at a time (finit_module relocates and links
// each module: on a slow, emulated CPU that is the cost). Modules are
// started in stages (see modulePlan): whatever a stage needs that an
// earlier stage already started is shared, never loaded twice.
type moduleLoader struct {
	dir   string
	deps  map[string][]string // path -> the paths it needs
	paths map[string]string   // module name -> path
	names map[string][]string // module name -> the names it needs
	sem   chan struct{}

	mu    sync.Mutex
	state map[string]*modState // path -> its load, once started
	errs  []error
	times []moduleTime
}

// modState is one module's load: done is closed when it ended; ok says
// the module is in the kernel.
type modState struct {
	done chan struct{}
	ok   bool
}

type moduleTime struct {
	name string
	took time.Duration
}

// newModuleLoader reads modules.dep of the running kernel. Without one
// (a kernel with everything built in) it returns a loader with no modules.
func newModuleLoader() (*moduleLoader, error) {
	l := &moduleLoader{deps: map[string][]string{}, paths: map[string]string{}, names: map[string][]string{},
		sem: make(chan struct{}, runtime.NumCPU()), state: map[string]*modState{}}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return l, err
	}
	l.dir = filepath.Join("/lib/modules", unix.ByteSliceToString(u.Release[:]))
	f, err := os.Open(filepath.Join(l.dir, "modules.dep"))
	if errors.Is(err, os.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return l, err
	}
	defer f.Close()
	order, deps, err := loadOrder(f) // also rejects dependency cycles
	if err != nil {
		return l, err
	}
	l.deps = deps
	for _, p := range order {
		n := moduleName(p)
		l.paths[n] = p
		l.names[n] = []string{}
		for _, d := range deps[p] {
			l.names[n] = append(l.names[n], moduleName(d))
		}
	}
	return l, nil
}

// start begins loading the named modules (names the tree lacks are
// skipped) and their dependencies; the returned func waits until they
// have all been tried and reports how many of them this call loaded.
func (l *moduleLoader) start(names []string) func() int {
	var sts []*modState
	for _, n := range names {
		if p, ok := l.paths[n]; ok {
			sts = append(sts, l.load(p))
		}
	}
	return func() int {
		n := 0
		for _, st := range sts {
			<-st.done
			if st.ok {
				n++
			}
		}
		return n
	}
}

// load starts loading p once its dependencies are in (each module is
// loaded once, whoever asks first) and returns its state. Modules that
// report ENODEV (Hyper-V outside Hyper-V, crc32c-intel without SSE4.2)
// count as absent, and so do the modules that need them.
func (l *moduleLoader) load(p string) *modState {
	l.mu.Lock()
	if st, ok := l.state[p]; ok {
		l.mu.Unlock()
		return st
	}
	st := &modState{done: make(chan struct{})}
	l.state[p] = st
	l.mu.Unlock()
	var need []*modState
	for _, d := range l.deps[p] {
		need = append(need, l.load(d))
	}
	go func() {
		defer close(st.done)
		for _, d := range need {
			if <-d.done; !d.ok {
				return
			}
		}
		if _, err := os.Stat("/sys/module/" + moduleName(p)); err == nil {
			st.ok = true // built in, or loaded before init ran
			return
		}
		l.sem <- struct{}{}
		t0 := time.Now()
		err := finit(filepath.Join(l.dir, p))
		took := time.Since(t0)
		<-l.sem
		l.mu.Lock()
		defer l.mu.Unlock()
		switch {
		case errors.Is(err, unix.ENODEV):
		case err != nil:
			l.errs = append(l.errs, err)
		default:
			st.ok = true
			l.times = append(l.times, moduleTime{moduleName(p), took})
		}
	}()
	return st
}

// report returns the load errors so far and the slowest loads, for the
// console ("ext4=120ms overlay=80ms ...").
func (l *moduleLoader) report(slowest int) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ts := append([]moduleTime(nil), l.times...)
	sort.Slice(ts, func(i, j int) bool { return ts[i].took > ts[j].took })
	var b strings.Builder
	for i, t := range ts {
		if i == slowest {
			break
		}
		fmt.Fprintf(&b, " %s=%s", t.name, t.took.Round(time.Millisecond))
	}
	return strings.TrimSpace(b.String()), errors.Join(l.errs...)
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
