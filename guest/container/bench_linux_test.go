package container

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkRunTrue compares `run --rm true` through the runtime (create,
// start, wait, delete: overlay mount, spec, shim, crun) with a bare
// `crun run` of the same bundle, in the same run:
//
//	go test -run '^$' -bench RunTrue ./guest/container/
func BenchmarkRunTrue(b *testing.B) {
	r := newTestRuntime(b, "")
	ctx := context.Background()
	b.Run("berth", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			c, err := r.Create(ctx, Config{
				ID: fmt.Sprintf("bench-%d", i), Image: imageConfig(), Lowers: []string{testLower},
				Create: CreateConfig{Cmd: []string{"true"}},
			})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.Start(ctx, nil); err != nil {
				b.Fatal(err)
			}
			if ex, err := c.Wait(ctx); err != nil || ex.ExitCode != 0 {
				b.Fatalf("wait: %+v %v", ex, err)
			}
			if err := c.Delete(ctx, false); err != nil {
				b.Fatal(err)
			}
		}
	})
	bundle := newTestContainer(b, r, []string{"true"}).Dir()
	b.Run("crun", func(b *testing.B) {
		errc := make(chan error, 1)
		go func() { errc <- bareCrunLoop(b, r, bundle) }()
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
	})
}

// bareCrunLoop runs `crun run` b.N times from a thread that has its own
// mount namespace (with cgroup2 hidden on hybrid hosts, as the shim does).
func bareCrunLoop(b *testing.B, r *Runtime, bundle string) error {
	runtime.LockOSThread() // never unlocked: the thread dies with this goroutine
	if r.hybrid {
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			return err
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
			return err
		}
		_, v2, _ := cgroupMounts()
		for _, m := range v2 {
			unix.Unmount(m, unix.MNT_DETACH)
		}
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer devnull.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cmd := exec.Command(r.o.crun, "--root", filepath.Join(filepath.Dir(r.root), "crun"), "run", "--bundle", bundle, fmt.Sprintf("bare-%d", i))
		cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("crun run: %w", err)
		}
	}
	return nil
}
