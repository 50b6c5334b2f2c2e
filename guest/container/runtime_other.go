//go:build !linux

package container

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"github.com/containerd/errdefs"
)

var errNotLinux = fmt.Errorf("containers run only on Linux: %w", errdefs.ErrNotImplemented)

// Runtime creates and runs containers (Linux only).
type Runtime struct{}

// Container is one container of a Runtime (Linux only).
type Container struct{}

// Exec is a process created in a running container (Linux only).
type Exec struct{}

// New fails: containers run only on Linux.
func New(context.Context, string, ...Option) (*Runtime, error) { return nil, errNotLinux }

// RunShim fails: containers run only on Linux.
func RunShim([]string) int { return 2 }

// HybridCgroups is false outside Linux.
func HybridCgroups() bool { return false }

// ParseSignal fails outside Linux.
func ParseSignal(string) (syscall.Signal, error) { return 0, errNotLinux }

func (*Runtime) Close() error                                       { return nil }
func (*Runtime) HoldTrash() func()                                  { return func() {} }
func (*Runtime) Create(context.Context, Config) (*Container, error) { return nil, errNotLinux }
func (*Runtime) Get(string) (*Container, error)                     { return nil, errNotLinux }
func (*Runtime) List() []*Container                                 { return nil }

func (*Container) ID() string                               { return "" }
func (*Container) Config() Config                           { return Config{} }
func (*Container) Dir() string                              { return "" }
func (*Container) Rootfs() string                           { return "" }
func (*Container) LogPath() string                          { return "" }
func (*Container) State(context.Context) State              { return State{} }
func (*Container) StopTimeout() time.Duration               { return 0 }
func (*Container) Wait(context.Context) (ExitStatus, error) { return ExitStatus{}, errNotLinux }
func (*Container) Start(context.Context, *AttachOptions) (*Streams, error) {
	return nil, errNotLinux
}
func (*Container) Kill(context.Context, syscall.Signal) error      { return errNotLinux }
func (*Container) Stop(context.Context, *time.Duration) error      { return errNotLinux }
func (*Container) Pause(context.Context) error                     { return errNotLinux }
func (*Container) Resume(context.Context) error                    { return errNotLinux }
func (*Container) Delete(context.Context, bool) error              { return errNotLinux }
func (*Container) Resize(context.Context, uint16, uint16) error    { return errNotLinux }
func (*Container) Stats(context.Context) (Stats, error)            { return Stats{}, errNotLinux }
func (*Container) Pids(context.Context) ([]int, error)             { return nil, errNotLinux }
func (*Container) Top(context.Context) (TopResult, error)          { return TopResult{}, errNotLinux }
func (*Container) Exec(context.Context, ExecConfig) (*Exec, error) { return nil, errNotLinux }
func (*Container) Attach(context.Context, AttachOptions) (*Streams, error) {
	return nil, errNotLinux
}
func (*Container) Logs(context.Context, LogsOptions, func(LogEntry) error) error {
	return errNotLinux
}

func (*Exec) Attach(context.Context, AttachOptions) (*Streams, error) { return nil, errNotLinux }
func (*Exec) Start(context.Context) (int, error)                      { return 0, errNotLinux }
func (*Exec) Wait(context.Context) (ExitStatus, error)                { return ExitStatus{}, errNotLinux }
func (*Exec) Resize(context.Context, uint16, uint16) error            { return errNotLinux }

// PrepareHost does nothing outside Linux.
func PrepareHost() error { return nil }
