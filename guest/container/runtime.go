package container

import (
	"io"
	"time"
)

// Option configures a Runtime.
type Option func(*options)

type options struct {
	crun     string
	crunRoot string
	shim     []string
	initPath string
	onEvent  func(Event)
}

func defaultOptions() options {
	return options{crun: "crun", crunRoot: "/run/berth/crun"}
}

// WithCrun sets the crun binary (default: "crun" from PATH).
func WithCrun(path string) Option { return func(o *options) { o.crun = path } }

// WithCrunRoot sets crun's state directory (default /run/berth/crun).
func WithCrunRoot(dir string) Option { return func(o *options) { o.crunRoot = dir } }

// WithShim sets the command that runs a shim; the argument "-" is
// appended. The default is the running executable with the argument
// "shim", so the program's main must dispatch `shim -` to RunShim.
func WithShim(path string, args ...string) Option {
	return func(o *options) { o.shim = append([]string{path}, args...) }
}

// WithInit sets the init binary used for CreateConfig.Init (e.g. tini).
func WithInit(path string) Option { return func(o *options) { o.initPath = path } }

// WithEventHandler receives container lifecycle events. It is called
// synchronously from the runtime's goroutines and must not block.
func WithEventHandler(fn func(Event)) Option { return func(o *options) { o.onEvent = fn } }

// Event types sent to the event handler.
const (
	EventStart   = "start"
	EventDie     = "die"
	EventOOM     = "oom"
	EventRestart = "restart"
	EventDestroy = "destroy"
	EventPause   = "pause"
	EventUnpause = "unpause"
)

// Event is a container lifecycle event.
type Event struct {
	ID       string
	Type     string
	ExitCode int // for EventDie
	Time     time.Time
}

// State is a container's current state, as `docker inspect` shows it.
type State struct {
	Status       Status
	Pid          int
	ExitCode     int
	OOMKilled    bool
	Error        string
	StartedAt    time.Time
	FinishedAt   time.Time
	RestartCount int
}

// AttachOptions choose the streams to attach to.
type AttachOptions struct {
	Stdin, Stdout, Stderr bool
}

// Streams are raw stdio connections to a process, ready to be spliced to a
// client connection. With a tty, Stdout carries the terminal and Stderr is
// nil. Closing Stdin closes the process's stdin only for StdinOnce
// containers and for exec processes; Close the others when done.
type Streams struct {
	Stdin  io.WriteCloser
	Stdout io.ReadCloser
	Stderr io.ReadCloser
}

// Close closes every stream.
func (s *Streams) Close() error {
	for _, c := range []io.Closer{s.Stdin, s.Stdout, s.Stderr} {
		if c != nil {
			c.Close()
		}
	}
	return nil
}

// ExecConfig is `docker exec`'s configuration.
type ExecConfig struct {
	ID         string // unique within the container
	Cmd        []string
	Env        []string
	WorkingDir string
	User       string
	Tty        bool
	Privileged bool
	// Stdin opens a stdin pipe (docker exec -i).
	Stdin bool
}

// persisted is the agent-side record of a container's lifecycle, kept in
// <dir>/state.json (the shim keeps exit.json).
type persisted struct {
	StartedAt       time.Time `json:"started_at"`
	FinishedAt      time.Time `json:"finished_at"`
	ExitCode        int       `json:"exit_code"`
	OOMKilled       bool      `json:"oom_killed,omitempty"`
	Error           string    `json:"error,omitempty"`
	Pid             int       `json:"pid,omitempty"`
	RestartCount    int       `json:"restart_count,omitempty"`
	ManuallyStopped bool      `json:"manually_stopped,omitempty"`
	Dead            bool      `json:"dead,omitempty"`
}
