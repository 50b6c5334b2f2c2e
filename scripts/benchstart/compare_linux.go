package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// startCompare starts a second private machine with the -compare berth
// binary (a build of another commit), so that the start paths of two
// builds are timed interleaved, round by round, under the same load: the
// only fair before/after on a busy machine.
func (b *bench) startCompare(ctx context.Context) error {
	p, err := filepath.Abs(b.o.compare)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(p), "berth-agent")); err != nil {
		return fmt.Errorf("-compare: berth-agent beside %s: %w", p, err)
	}
	c := &bench{o: b.o, w: b.w, work: b.work, berth: p, image: b.image, tar: b.tar}
	c.home = filepath.Join(b.work, "home-compare")
	c.env = append(withoutEnv(os.Environ(), "BERTH_MACHINE", "BERTH_HOME"), "BERTH_HOME="+c.home)
	b.onCleanup("the -compare machine", func(context.Context) error {
		c.cleanup()
		return nil
	})
	if err := c.startMachine(ctx); err != nil {
		return fmt.Errorf("-compare machine (%s): %w", p, err)
	}
	b.cmp = c
	fmt.Fprintf(b.w, "compare: %s, BERTH_HOME %s\n", p, c.home)
	return nil
}

// comparePaths are the -compare build's start paths (none when not
// comparing).
func (b *bench) comparePaths() []path {
	c := b.cmp
	if c == nil {
		return nil
	}
	run := func(args ...string) func(ctx context.Context) (time.Duration, error) {
		return func(ctx context.Context) (time.Duration, error) {
			return timed(ctx, c.env, c.berth, append(append([]string{"run", "--rm"}, args...), c.image, "true")...)
		}
	}
	return []path{
		{"compare: berth run --rm --network none", run("--network", "none")},
		{"compare: berth run --rm (bridge)", run()},
	}
}

// compareGoals are the ratios of -berth to -compare (below 1: -berth is
// faster).
func compareGoals(none, bridge, cmpNone, cmpBridge time.Duration) []goal {
	return []goal{
		{"berth / compare, run --rm --network none", ratio(none, cmpNone), "", ""},
		{"berth / compare, run --rm (bridge)", ratio(bridge, cmpBridge), "", ""},
	}
}
