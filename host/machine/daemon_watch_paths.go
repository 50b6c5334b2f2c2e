package machine

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/containerd/errdefs/pkg/errgrpc"
	ctypes "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"

	"github.com/berth-dev/berth/host/driver/qemu"
	"github.com/berth-dev/berth/host/share"
	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// watchRoot is one bind source a running container uses: a directory (or a
// single file) on the host and the same place in the VM.
type watchRoot struct {
	Host string // host path, in the host OS's form
	VM   string // path in the VM (slash-separated)
	Dir  bool   // a directory (watched with its subdirectories), else a file
}

// vmPathOf maps a host path under root to its path in the VM.
func (r watchRoot) vmPathOf(host string) (string, bool) {
	if host == r.Host {
		return r.VM, true
	}
	if !r.Dir {
		return "", false
	}
	rel, err := filepath.Rel(r.Host, host)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", false
	}
	return path.Join(r.VM, filepath.ToSlash(rel)), true
}

// hostPathOf maps a VM path to the host path it shows, through the
// shares (the longest VM path wins); false when it is in no share (a path
// of the VM's own, such as a named volume).
func hostPathOf(goos string, shares []share.Share, vm string) (string, bool) {
	vm = path.Clean(vm)
	best, bestLen := "", -1
	for _, s := range shares {
		base := path.Clean(s.VMPath)
		rel, ok := underVM(base, vm)
		if !ok || len(base) <= bestLen {
			continue
		}
		if s.HostPath == share.AllDrives {
			// VMPath/<letter>/rest is <LETTER>:\rest.
			letter, rest, _ := strings.Cut(rel, "/")
			if len(letter) != 1 || !isLetter(letter[0]) {
				continue
			}
			best = strings.ToUpper(letter) + `:\` + strings.ReplaceAll(rest, "/", `\`)
		} else {
			best = joinHost(goos, s.HostPath, rel)
		}
		bestLen = len(base)
	}
	return best, bestLen >= 0
}

// underVM returns p relative to base when p is base or below it.
func underVM(base, p string) (string, bool) {
	if p == base {
		return "", true
	}
	prefix := strings.TrimSuffix(base, "/") + "/"
	if !strings.HasPrefix(p, prefix) {
		return "", false
	}
	return strings.TrimPrefix(p, prefix), true
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// joinHost joins a slash-separated relative path to a host path of goos.
func joinHost(goos, base, rel string) string {
	if rel == "" {
		return base
	}
	if goos == share.Windows {
		return strings.TrimRight(base, `\/`) + `\` + strings.ReplaceAll(rel, "/", `\`)
	}
	return strings.TrimSuffix(base, "/") + "/" + rel
}

// machineShares are the folders a VM machine of driver driverName shares:
// the driver's defaults for this host plus the machine's --share folders.
func machineShares(driverName string, cfg Config) []share.Share {
	home, _ := os.UserHomeDir()
	var s []share.Share
	if driverName == qemu.Name {
		s = qemu.DefaultShares(runtime.GOOS, home)
	} else {
		s = share.DefaultShares(runtime.GOOS, home)
	}
	for _, p := range cfg.Shares {
		s = append(s, share.Share{HostPath: p, VMPath: filepath.ToSlash(p)})
	}
	return s
}

// bindSources returns the VM paths a container bind-mounts, and whether
// it is running.
func bindSources(doc *ctypes.InspectResponse) (up bool, sources []string) {
	if doc.State != nil {
		up = doc.State.Running && !doc.State.Restarting
	}
	for _, m := range doc.Mounts {
		if m.Type == mount.TypeBind && m.Source != "" {
			sources = append(sources, m.Source)
		}
	}
	return up, sources
}

// BindSources inspects container id: whether it runs and the VM paths it
// bind-mounts.
func (a agentSource) BindSources(ctx context.Context, id string) (bool, []string, error) {
	cl, err := a.client(ctx)
	if err != nil {
		return false, nil, err
	}
	defer cl.Close()
	r, err := agentv1.NewTTRPCContainersClient(cl).Inspect(ctx, &agentv1.InspectContainerRequest{Id: id})
	if err != nil {
		return false, nil, fmt.Errorf("inspect container %s: %w", id, errgrpc.ToNative(err))
	}
	var doc ctypes.InspectResponse
	if err := json.Unmarshal(r.Json, &doc); err != nil {
		return false, nil, fmt.Errorf("inspect container %s: %w", id, err)
	}
	up, src := bindSources(&doc)
	return up, src, nil
}

// NotifyFileEvents sends host file changes to the agent.
func (a agentSource) NotifyFileEvents(ctx context.Context, evs []*agentv1.FileEvent) error {
	cl, err := a.client(ctx)
	if err != nil {
		return err
	}
	defer cl.Close()
	_, err = agentv1.NewTTRPCSystemClient(cl).NotifyFileEvents(ctx, &agentv1.FileEventsRequest{Events: evs})
	return errgrpc.ToNative(err)
}
