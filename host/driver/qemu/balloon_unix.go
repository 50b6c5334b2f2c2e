//go:build linux || darwin

package qemu

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/host/driver"
	"github.com/berth-dev/berth/host/internal/errkind"
)

var _ driver.MemoryBalloon = (*Driver)(nil)

// balloonMin is the least memory target the driver asks for: below it the
// guest's balloon driver would squeeze the agent itself (deflate-on-oom
// gives memory back, but only after the guest is under pressure).
const balloonMin = 128 << 20

// SetMemoryTarget asks the guest, through the virtio balloon (QMP
// "balloon"), to use at most bytes; qemu returns the pages the guest gives
// up to the host. The target is clamped to [128MiB, the machine's memory].
func (d *Driver) SetMemoryTarget(ctx context.Context, bytes uint64) error {
	d.mu.Lock()
	run := d.run
	d.mu.Unlock()
	if run == nil || run.exited() {
		return errkind.New(errdefs.ErrUnavailable, "machine %q is not running", d.inst.Name)
	}
	_, err := qmpExecute(ctx, d.qmpPath(), balloonRequest(bytes, uint64(d.inst.MemoryBytes)))
	if err != nil {
		return fmt.Errorf("machine %q: set the memory balloon target: %w", d.inst.Name, err)
	}
	return nil
}

// memoryActual is the guest's memory as the balloon has it now
// (QMP "query-balloon").
func (d *Driver) memoryActual(ctx context.Context) (uint64, error) {
	ret, err := qmpExecute(ctx, d.qmpPath(), qmpRequest{Execute: "query-balloon"})
	if err != nil {
		return 0, fmt.Errorf("machine %q: query the memory balloon: %w", d.inst.Name, err)
	}
	return parseBalloonInfo(ret)
}

func (d *Driver) qmpPath() string { return filepath.Join(d.inst.Dir, qmpSocket) }

// balloonRequest is the QMP command setting the guest's memory to bytes,
// clamped to [balloonMin, full] (full = 0: no upper bound).
func balloonRequest(bytes, full uint64) qmpRequest {
	if full > 0 {
		bytes = min(bytes, full)
	}
	bytes = max(bytes, balloonMin)
	return qmpRequest{Execute: "balloon", Arguments: map[string]uint64{"value": bytes}}
}

// parseBalloonInfo reads query-balloon's {"actual": bytes}.
func parseBalloonInfo(ret json.RawMessage) (uint64, error) {
	var info struct {
		Actual *uint64 `json:"actual"`
	}
	if err := json.Unmarshal(ret, &info); err != nil || info.Actual == nil {
		return 0, fmt.Errorf("query-balloon answered %s, want {\"actual\": bytes}: %w", ret, errdefs.ErrUnknown)
	}
	return *info.Actual, nil
}
