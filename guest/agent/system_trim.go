//go:build linux

package agent

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"time"
	"unsafe"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/types/known/emptypb"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// Automatic trims in the VM: some time after the last deletion (so that an
// `rmi` of ten images trims once), and on a long timer for whatever else
// freed blocks (container logs, build leftovers).
const (
	trimDebounce = 30 * time.Second
	trimInterval = time.Hour
)

// fitrim is FITRIM, _IOWR('X', 121, struct fstrim_range), in the generic
// ioctl encoding that amd64 and arm64 use; x/sys/unix does not name it.
const fitrim = 0xC0185879

// fstrimRange is the kernel's struct fstrim_range. On return Len holds
// the number of bytes the file system discarded.
type fstrimRange struct {
	Start, Len, MinLen uint64
}

// Trim discards the data disk's unused blocks so that the disk file on the
// host shrinks.
func (y *systemService) Trim(ctx context.Context, _ *emptypb.Empty) (*agentv1.TrimResponse, error) {
	n, err := trimDir(y.s.opts.DataDir)
	if err != nil {
		return nil, err
	}
	log.G(ctx).WithField("bytes", n).Debug("trimmed the data disk")
	return &agentv1.TrimResponse{TrimmedBytes: n}, nil
}

// trimDir runs FITRIM on the file system holding dir and returns the bytes
// it discarded.
func trimDir(dir string) (uint64, error) {
	f, err := os.Open(dir)
	if err != nil {
		return 0, fmt.Errorf("trim %s: %w", dir, err)
	}
	defer f.Close()
	// Blocks freed by a deletion return to the free pool (and, with the
	// discard mount option, are discarded) only when the journal commits,
	// up to 5 s later; FITRIM skips them until then. Commit first.
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return 0, fmt.Errorf("trim %s: sync its file system: %w", dir, err)
	}
	r := fstrimRange{Len: math.MaxUint64}
	_, _, e := unix.Syscall(unix.SYS_IOCTL, f.Fd(), fitrim, uintptr(unsafe.Pointer(&r)))
	switch {
	case e == 0:
		return r.Len, nil
	case errors.Is(e, unix.ENOTTY), errors.Is(e, unix.EOPNOTSUPP):
		return 0, fmt.Errorf("trim %s: its file system (%s) or disk does not support discard: %w",
			dir, backingFS(dir), errdefs.ErrNotImplemented)
	case errors.Is(e, unix.EPERM):
		return 0, fmt.Errorf("trim %s: the agent needs CAP_SYS_ADMIN: %w", dir, errdefs.ErrPermissionDenied)
	}
	return 0, fmt.Errorf("trim %s: %w", dir, e)
}

// freesSpace reports whether an engine event means that blocks were freed
// on the data disk.
func freesSpace(ev *agentv1.Event) bool {
	switch ev.GetType() + "/" + ev.GetAction() {
	case "image/delete", "image/prune", "container/destroy", "volume/destroy", "volume/prune":
		return true
	}
	return false
}

// trimmer trims the data disk debounce after the last event that freed
// space, and every interval, until ctx ends. It waits on timers and the
// event bus; it never polls.
type trimmer struct {
	events   *eventBus
	trim     func() (uint64, error)
	debounce time.Duration
	interval time.Duration
	done     func(n uint64, err error) // after each trim (tests); may be nil
}

func (t *trimmer) run(ctx context.Context) {
	evs, unsubscribe := t.events.subscribe()
	defer unsubscribe()
	tick := time.NewTicker(t.interval)
	defer tick.Stop()
	pending := time.NewTimer(t.debounce)
	pending.Stop()
	defer pending.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-evs:
			if freesSpace(ev) {
				pending.Reset(t.debounce)
			}
			continue
		case <-pending.C:
		case <-tick.C:
		}
		pending.Stop()
		n, err := t.trim()
		if t.done != nil {
			t.done(n, err)
		}
		if errdefs.IsNotImplemented(err) {
			log.G(ctx).WithError(err).Info("automatic trim of the data disk is off")
			return
		}
		if err != nil {
			log.G(ctx).WithError(err).Warn("automatic trim of the data disk")
		} else {
			log.G(ctx).WithField("bytes", n).Debug("trimmed the data disk")
		}
	}
}

// autoTrim trims the data disk after deletions and hourly until ctx ends
// (Options.AutoTrim: the VM's agent, whose data disk is a sparse file on
// the host).
func (s *Server) autoTrim(ctx context.Context) {
	t := &trimmer{
		events:   s.events,
		trim:     func() (uint64, error) { return trimDir(s.opts.DataDir) },
		debounce: trimDebounce,
		interval: trimInterval,
	}
	t.run(ctx)
}
