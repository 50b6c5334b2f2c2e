//go:build linux

package agent

import (
	"bufio"
	"context"
	"os"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
	"github.com/berth-dev/berth/proto/version"
)

// systemService implements agentv1.TTRPCSystemService.
type systemService struct {
	s      *Server
	shells shellTable // running TTY shells, for ResizeShell
}

var _ agentv1.TTRPCSystemService = (*systemService)(nil)

func (y *systemService) Version(ctx context.Context, _ *emptypb.Empty) (*agentv1.VersionResponse, error) {
	return &agentv1.VersionResponse{
		Version:       version.Version,
		ApiVersion:    version.APIVersion,
		GoVersion:     runtime.Version(),
		Os:            runtime.GOOS,
		Arch:          runtime.GOARCH,
		KernelVersion: kernelVersion(),
	}, nil
}

func (y *systemService) Info(ctx context.Context, _ *emptypb.Empty) (*agentv1.InfoResponse, error) {
	nimages, err := y.s.images.count(ctx)
	if err != nil {
		return nil, err
	}
	var si unix.Sysinfo_t
	_ = unix.Sysinfo(&si)
	name := y.s.opts.Name
	if name == "" {
		name, _ = os.Hostname()
	}
	running, paused, stopped := y.s.engine.counts()
	return &agentv1.InfoResponse{
		Containers:         running + paused + stopped,
		ContainersRunning:  running,
		ContainersPaused:   paused,
		ContainersStopped:  stopped,
		Images:             int64(nimages),
		StorageDriver:      "overlayfs",
		BackingFilesystem:  backingFS(y.s.opts.DataDir),
		KernelVersion:      kernelVersion(),
		OperatingSystem:    osPrettyName(),
		OsType:             runtime.GOOS,
		Architecture:       unameMachine(),
		Ncpu:               int64(runtime.NumCPU()),
		MemTotal:           int64(si.Totalram) * int64(si.Unit),
		Name:               name,
		ServerVersion:      version.Version,
		RootDir:            y.s.opts.DataDir,
		CgroupDriver:       "cgroupfs",
		CgroupVersion:      cgroupVersion(),
		DefaultRuntime:     "crun",
		InsecureRegistries: y.s.opts.InsecureRegistries,
		SystemTime:         timestamppb.New(time.Now()),
	}, nil
}

func (y *systemService) Events(ctx context.Context, req *agentv1.EventsRequest, ss agentv1.TTRPCSystem_EventsServer) error {
	ch, cancel := y.s.events.subscribe()
	defer cancel()
	want := map[string]bool{}
	for _, t := range req.Types {
		want[t] = true
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-y.s.shutdown:
			return nil
		case ev := <-ch:
			if len(want) > 0 && !want[ev.Type] {
				continue
			}
			if err := ss.Send(ev); err != nil {
				return toStatus(err)
			}
		}
	}
}

func (y *systemService) OpenStream(ctx context.Context, _ *emptypb.Empty) (*agentv1.OpenStreamResponse, error) {
	return &agentv1.OpenStreamResponse{Id: y.s.streams.reserve()}, nil
}

func (y *systemService) Shutdown(ctx context.Context, _ *emptypb.Empty) (*emptypb.Empty, error) {
	// Answer first, then stop: closing the listener here would cut the reply.
	go func() {
		time.Sleep(50 * time.Millisecond)
		y.s.once.Do(func() { close(y.s.shutdown) })
	}()
	return &emptypb.Empty{}, nil
}

func kernelVersion() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

func unameMachine() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return runtime.GOARCH
	}
	return unix.ByteSliceToString(u.Machine[:])
}

func osPrettyName() string {
	f, err := os.Open("/etc/os-release")
	if err != nil {
		return "Linux"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "PRETTY_NAME="); ok {
			return strings.Trim(v, `"'`)
		}
	}
	return "Linux"
}

func cgroupVersion() string {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		return "2"
	}
	return "1"
}

func backingFS(dir string) string {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return ""
	}
	switch st.Type {
	case unix.EXT4_SUPER_MAGIC:
		return "extfs"
	case unix.XFS_SUPER_MAGIC:
		return "xfs"
	case unix.BTRFS_SUPER_MAGIC:
		return "btrfs"
	case unix.TMPFS_MAGIC:
		return "tmpfs"
	case unix.OVERLAYFS_SUPER_MAGIC:
		return "overlayfs"
	}
	return "unknown"
}
